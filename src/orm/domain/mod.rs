//! Odoo's domain language: parsing the prefix notation and validating it against the registry. Compiling
//! it to SQL is `sql.rs` (every value bound, every column name taken from the registry); evaluating it in
//! memory is `eval.rs` (the reference semantics the SQL compiler is tested against).

mod eval;
mod odoo19;
pub(crate) mod operand;
mod sql;

use crate::error::{Error, Result};
use crate::orm::model::Model;
use crate::orm::registry::Registry;
use crate::orm::serie::OdooSerie;
use crate::types::Value;

/// Largest `in` list accepted (databases cap bound parameters; a bigger list is a client bug).
pub const MAX_IN_LIST: usize = 30_000;
/// Most terms (operators and leaves) in one domain list.
pub const MAX_DOMAIN_TERMS: usize = 20_000;
/// Deepest nesting accepted (after flattening chains of one operator), counted across the whole domain:
/// each level of `&`, `|` and `!`, and each relational step (a dotted path's hop, an `any` / `not any`
/// with everything inside it).
pub const MAX_DOMAIN_DEPTH: usize = 64;
/// Most relational steps nested in one another (each is a subquery): SQLite refused 34 nested `any` with
/// "Expression tree is too large", and PostgreSQL took 4 s to plan 60.
pub const MAX_RELATIONAL_DEPTH: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    EqOpt,
    Like,
    NotLike,
    ILike,
    NotILike,
    EqLike,
    EqILike,
    In,
    NotIn,
    Any,
    NotAny,
}

impl Op {
    /// Odoo's TERM_OPERATORS_NEGATION.
    pub fn negated(self) -> Option<Op> {
        Some(match self {
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
            Op::Lt => Op::Ge,
            Op::Ge => Op::Lt,
            Op::Gt => Op::Le,
            Op::Le => Op::Gt,
            Op::In => Op::NotIn,
            Op::NotIn => Op::In,
            Op::Like => Op::NotLike,
            Op::NotLike => Op::Like,
            Op::ILike => Op::NotILike,
            Op::NotILike => Op::ILike,
            Op::Any => Op::NotAny,
            Op::NotAny => Op::Any,
            Op::EqOpt | Op::EqLike | Op::EqILike => return None,
        })
    }

    /// The operator as Odoo spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::EqOpt => "=?",
            Op::Like => "like",
            Op::NotLike => "not like",
            Op::ILike => "ilike",
            Op::NotILike => "not ilike",
            Op::EqLike => "=like",
            Op::EqILike => "=ilike",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Any => "any",
            Op::NotAny => "not any",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "=" | "==" => Op::Eq,
            "!=" | "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "=?" => Op::EqOpt,
            "like" => Op::Like,
            "not like" => Op::NotLike,
            "ilike" => Op::ILike,
            "not ilike" => Op::NotILike,
            "=like" => Op::EqLike,
            "=ilike" => Op::EqILike,
            // No model here has a hierarchy, so child_of/parent_of reduce to membership.
            "in" | "child_of" | "parent_of" => Op::In,
            "not in" => Op::NotIn,
            "any" => Op::Any,
            "not any" => Op::NotAny,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    True,
    False,
    And(Vec<Domain>),
    Or(Vec<Domain>),
    Not(Box<Domain>),
    /// A comparison (never `any` / `not any`, which parse to `Any`).
    Leaf {
        path: Vec<String>,
        op: Op,
        value: Value,
    },
    /// `(path, 'any' | 'not any', domain)`: the inner domain parsed with the outer one, within the same
    /// depth budget; `value` is the inner domain as given, for messages.
    Any {
        path: Vec<String>,
        negate: bool,
        domain: Box<Domain>,
        value: Value,
    },
}

/// How deep a domain (or a part of it) nests: every level, and relational steps alone.
#[derive(Clone, Copy, Debug)]
struct Depth {
    total: usize,
    relational: usize,
}

impl Depth {
    fn max(self, other: Depth) -> Depth {
        Depth { total: self.total.max(other.total), relational: self.relational.max(other.relational) }
    }

    fn fits(self, budget: Depth) -> bool {
        self.total <= budget.total && self.relational <= budget.relational
    }
}

const FULL_BUDGET: Depth = Depth { total: MAX_DOMAIN_DEPTH, relational: MAX_RELATIONAL_DEPTH };

fn too_deep() -> Error {
    Error::application(format!(
        "Domain nests more than {MAX_DOMAIN_DEPTH} levels deep, or more than {MAX_RELATIONAL_DEPTH} relational steps \
         (dotted paths, any, not any) within one another."
    ))
}

/// Odoo's texts for a domain that is not prefix notation.
fn syntax_error(domain: &Value) -> Error {
    let mut shown = operand::py_repr(domain);
    if shown.chars().count() > 300 {
        shown = shown.chars().take(300).chain("…]".chars()).collect();
    }
    Error::application(format!("Domain {shown} is syntactically not correct."))
}

/// Python's error for unpacking a term that is not three items into `left, operator, right`.
fn unpack_error(len: usize) -> Error {
    Error::application(if len < 3 {
        format!("not enough values to unpack (expected 3, got {len})")
    } else {
        "too many values to unpack (expected 3)".to_string()
    })
}

/// A term as Python prints a tuple: `('amount', 'between', 1)`.
fn tuple_repr(term: &[Value]) -> String {
    format!("({})", term.iter().map(operand::py_repr).collect::<Vec<_>>().join(", "))
}

impl Domain {
    /// Parses a domain in Odoo's prefix notation (implicit `&` between top-level terms), as Odoo 17 reads it.
    pub fn parse(value: &Value) -> Result<Domain> {
        Self::parse_for(value, OdooSerie::V17)
    }

    /// Parses a domain as a call of `serie` reads it: Odoo 17 reads `=`/`!=` against a list as `in`/`not
    /// in` that list, an empty one included; Odoo 19 reads an empty one as `[False]` (`for_serie` does).
    pub fn parse_for(value: &Value, serie: OdooSerie) -> Result<Domain> {
        Self::parse_within(value, FULL_BUDGET, serie).map(|(domain, _)| domain)
    }

    /// Parses a domain that may nest at most `budget` deep (the inner domain of an `any` gets what its
    /// leaf leaves of the outer budget), and how deep it nests.
    fn parse_within(value: &Value, budget: Depth, serie: OdooSerie) -> Result<(Domain, Depth)> {
        let items = match value {
            Value::List(items) => items,
            v if v.is_null() => return Ok((Domain::True, Depth { total: 0, relational: 0 })),
            _ => {
                return Err(Error::application(
                    "Domains to normalize must have a 'domain' form: a list or tuple of domain components",
                ))
            }
        };
        if items.len() > MAX_DOMAIN_TERMS {
            return Err(Error::application(format!("Domain has more than {MAX_DOMAIN_TERMS} terms.")));
        }
        // Each entry carries its nesting depth. Chains of one operator are flattened (`| | a b c` is one
        // Or of three) and `! !` cancels, so long domains stay shallow; what still nests deeper than the
        // budget is refused, because every later pass over the tree recurses and the SQL nests as deep.
        let mut stack: Vec<(Domain, Depth)> = Vec::new();
        let deeper = |depth: Depth| Depth { total: depth.total + 1, relational: depth.relational };
        let shallower = |depth: Depth| Depth { total: depth.total.saturating_sub(1), relational: depth.relational };
        for item in items.iter().rev() {
            match item {
                Value::Str(op) if op == "&" || op == "|" => {
                    let ((a, da), (b, db)) = match (stack.pop(), stack.pop()) {
                        (Some(a), Some(b)) => (a, b),
                        _ => return Err(syntax_error(value)),
                    };
                    let and = op == "&";
                    let flat = |d: Domain, depth: Depth| match d {
                        Domain::And(items) if and => (items, shallower(depth)),
                        Domain::Or(items) if !and => (items, shallower(depth)),
                        other => (vec![other], depth),
                    };
                    let (mut children, da) = flat(a, da);
                    let (rest, db) = flat(b, db);
                    children.extend(rest);
                    let depth = deeper(da.max(db));
                    if !depth.fits(budget) {
                        return Err(too_deep());
                    }
                    stack.push((if and { Domain::And(children) } else { Domain::Or(children) }, depth));
                }
                Value::Str(op) if op == "!" => {
                    let entry = match stack.pop().ok_or_else(|| syntax_error(value))? {
                        (Domain::Not(inner), depth) => (*inner, shallower(depth)),
                        (a, depth) if deeper(depth).fits(budget) => (Domain::Not(Box::new(a)), deeper(depth)),
                        _ => return Err(too_deep()),
                    };
                    stack.push(entry);
                }
                Value::List(term) => stack.push(Self::parse_leaf(term, budget, serie)?),
                // Odoo unpacks anything else as a term: a string by its characters.
                Value::Str(s) => return Err(unpack_error(s.chars().count())),
                other => return Err(Error::application(format!("cannot unpack non-iterable {} object", other.kind()))),
            }
        }
        let depth = stack.iter().fold(Depth { total: 0, relational: 0 }, |acc, (_, d)| acc.max(*d));
        let mut stack: Vec<Domain> = stack.into_iter().rev().map(|(d, _)| d).collect();
        let domain = match stack.len() {
            0 => Domain::True,
            1 => stack.pop().unwrap_or(Domain::True),
            _ => Domain::And(stack),
        };
        Ok((domain.distribute_not(false), depth))
    }

    /// Pushes `!` down to the leaves by negating their operators, as Odoo does: `!(a = 1)` becomes
    /// `a != 1`, which (like Odoo) keeps rows where `a` is empty. Leaves without a negated operator keep
    /// an explicit `Not`.
    fn distribute_not(self, negate: bool) -> Domain {
        match (self, negate) {
            (Domain::True, true) => Domain::False,
            (Domain::False, true) => Domain::True,
            (Domain::Not(inner), n) => inner.distribute_not(!n),
            (Domain::And(items), false) => Domain::And(items.into_iter().map(|d| d.distribute_not(false)).collect()),
            (Domain::Or(items), false) => Domain::Or(items.into_iter().map(|d| d.distribute_not(false)).collect()),
            (Domain::And(items), true) => Domain::Or(items.into_iter().map(|d| d.distribute_not(true)).collect()),
            (Domain::Or(items), true) => Domain::And(items.into_iter().map(|d| d.distribute_not(true)).collect()),
            (Domain::Leaf { path, op, value }, true) => match op.negated() {
                Some(op) => Domain::Leaf { path, op, value },
                None => Domain::Not(Box::new(Domain::Leaf { path, op, value })),
            },
            (Domain::Any { path, negate, domain, value }, true) => Domain::Any { path, negate: !negate, domain, value },
            (other, _) => other,
        }
    }

    /// One term, and how deep it nests: 1, plus a subquery per hop of a dotted path, plus for `any` one
    /// more and its inner domain's depth.
    fn parse_leaf(term: &[Value], budget: Depth, serie: OdooSerie) -> Result<(Domain, Depth)> {
        let invalid = || Error::application(format!("Invalid leaf {}", tuple_repr(term)));
        if term.len() != 3 {
            return Err(unpack_error(term.len()));
        }
        let op_str = term[1].as_str().ok_or_else(invalid)?;
        // TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
        if let (Some(l), Some(r)) = (term[0].as_i64(), term[2].as_i64()) {
            if op_str == "=" && r == 1 && (l == 0 || l == 1) {
                let constant = if l == 1 { Domain::True } else { Domain::False };
                return Ok((constant, Depth { total: 1, relational: 0 }));
            }
        }
        let field = term[0].as_str().ok_or_else(invalid)?;
        let op = Op::parse(op_str).ok_or_else(invalid)?;
        if field.is_empty() || field.split('.').any(str::is_empty) {
            return Err(invalid());
        }
        // As Odoo 17: `=`/`!=` against a list means `in`/`not in` (Odoo logs that the term should say so).
        // Odoo 19 reads it so too, but an empty list as `[False]`: `for_serie` restates the term as written.
        let op = match (op, &term[2], serie) {
            (Op::Eq, Value::List(_), OdooSerie::V17) => Op::In,
            (Op::Ne, Value::List(_), OdooSerie::V17) => Op::NotIn,
            (op, _, _) => op,
        };
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        let hops = path.len() - 1;
        let leaf = Depth { total: 1 + hops, relational: hops };
        if !leaf.fits(budget) {
            return Err(too_deep());
        }
        if !matches!(op, Op::Any | Op::NotAny) {
            return Ok((Domain::Leaf { path, op, value: term[2].clone() }, leaf));
        }
        let step = Depth { total: leaf.total + 1, relational: leaf.relational + 1 };
        if !step.fits(budget) {
            return Err(too_deep());
        }
        let inner_budget = Depth { total: budget.total - step.total, relational: budget.relational - step.relational };
        let (domain, inner) = Self::parse_within(&term[2], inner_budget, serie)?;
        let depth = Depth { total: step.total + inner.total, relational: step.relational + inner.relational };
        let any = Domain::Any { path, negate: op == Op::NotAny, domain: Box::new(domain), value: term[2].clone() };
        Ok((any, depth))
    }

    /// Checks every field path against the registry, so a compiled query only ever names known columns.
    pub fn validate(&self, registry: &Registry, model: &Model) -> Result<()> {
        match self {
            Domain::True | Domain::False => Ok(()),
            Domain::And(items) | Domain::Or(items) => items.iter().try_for_each(|d| d.validate(registry, model)),
            Domain::Not(inner) => inner.validate(registry, model),
            Domain::Leaf { path, op, value } => walk(registry, model, path, *op, value).map(|_| ()),
            Domain::Any { path, negate, domain, value } => {
                let op = if *negate { Op::NotAny } else { Op::Any };
                domain.validate(registry, walk(registry, model, path, op, value)?)
            }
        }
    }
}

/// Follows a leaf's path from `model`: the model its last field belongs to, or for `any` / `not any` the
/// model that field points to. Errors in Odoo's words.
fn walk<'r>(registry: &'r Registry, model: &'r Model, path: &[String], op: Op, value: &Value) -> Result<&'r Model> {
    let mut current = model;
    for (i, part) in path.iter().enumerate() {
        // Odoo's texts: the leaf as it stands once the path's first hops are taken.
        let field = current.field(part).ok_or_else(|| {
            Error::application(format!(
                "Invalid field {}.{} in leaf {}",
                current.name,
                part,
                operand::leaf_repr(&path[i..], op, value)
            ))
        })?;
        let last = i + 1 == path.len();
        if field.name == "display_name" && !last {
            return Err(Error::application(format!("Invalid field path {:?}", path.join("."))));
        }
        if !last || matches!(op, Op::Any | Op::NotAny) {
            let comodel = field.ftype.comodel().ok_or_else(|| {
                Error::application(format!(
                    "Invalid field '{}' in domain term {}",
                    path[i..].join("."),
                    operand::leaf_repr(&path[i..], op, value)
                ))
            })?;
            current = registry.model(comodel)?;
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }
    fn leaf(f: &str, op: &str, v: Value) -> Value {
        list(vec![Value::str(f), Value::str(op), v])
    }

    #[test]
    fn prefix_notation_and_implicit_and() {
        let d = Domain::parse(&list(vec![
            Value::str("|"),
            leaf("a", "=", Value::Int(1)),
            leaf("b", "=", Value::Int(2)),
            leaf("c", "!=", Value::Bool(false)),
        ]))
        .unwrap();
        match d {
            Domain::And(items) => {
                assert_eq!(items.len(), 2);
                assert!(matches!(items[0], Domain::Or(_)));
            }
            other => panic!("unexpected {other:?}"),
        }
        let not = Domain::parse(&list(vec![Value::str("!"), leaf("a", "=", Value::Int(1))])).unwrap();
        assert_eq!(not, Domain::Leaf { path: vec!["a".into()], op: Op::Ne, value: Value::Int(1) });
        let kept = Domain::parse(&list(vec![Value::str("!"), leaf("a", "=like", Value::str("x%"))])).unwrap();
        assert!(matches!(kept, Domain::Not(_)));
        let de_morgan = Domain::parse(&list(vec![
            Value::str("!"),
            Value::str("|"),
            leaf("a", "<", Value::Int(1)),
            leaf("b", "in", list(vec![])),
        ]))
        .unwrap();
        assert_eq!(
            de_morgan,
            Domain::And(vec![
                Domain::Leaf { path: vec!["a".into()], op: Op::Ge, value: Value::Int(1) },
                Domain::Leaf { path: vec!["b".into()], op: Op::NotIn, value: list(vec![]) },
            ])
        );
    }

    #[test]
    fn malformed_domains_are_errors_not_panics() {
        for bad in [
            list(vec![Value::str("&"), leaf("a", "=", Value::Int(1))]),
            list(vec![Value::str("!")]),
            list(vec![Value::Int(3)]),
            list(vec![list(vec![Value::str("a"), Value::str("=")])]),
            list(vec![leaf("a", "regex", Value::Int(1))]),
            list(vec![leaf("a..b", "=", Value::Int(1))]),
            Value::str("[('a','=',1)]"),
        ] {
            assert!(Domain::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_domains_stay_shallow_and_deep_ones_are_refused() {
        let a = || leaf("a", "=", Value::Int(1));
        // 19,999 `|` then 20,000 leaves (too many terms) and 9,999 + 10,000: one flat Or.
        let mut ors: Vec<Value> = vec![Value::str("|"); 9_999];
        ors.extend((0..10_000).map(|_| a()));
        match Domain::parse(&list(ors)).unwrap() {
            Domain::Or(items) => assert_eq!(items.len(), 10_000),
            other => panic!("unexpected {other:?}"),
        }
        // 19,999 `!`: cancelled in pairs, one left.
        let mut nots: Vec<Value> = vec![Value::str("!"); 19_999];
        nots.push(a());
        assert_eq!(
            Domain::parse(&list(nots)).unwrap(),
            Domain::Leaf { path: vec!["a".into()], op: Op::Ne, value: Value::Int(1) }
        );
        // Alternating & and | cannot be flattened: refused past the depth limit, accepted below it.
        let alternating = |n: usize| {
            let mut items = Vec::new();
            for i in 0..n {
                items.push(Value::str(if i % 2 == 0 { "&" } else { "|" }));
                items.push(a());
            }
            items.push(a());
            list(items)
        };
        assert!(Domain::parse(&alternating(MAX_DOMAIN_DEPTH - 1)).is_ok());
        let err = Domain::parse(&alternating(9_000)).unwrap_err();
        assert!(err.message().contains("deep"), "{}", err.message());
    }

    /// `levels` nested `any` over link → accounts → link …
    fn nested_any(levels: usize) -> Value {
        let mut domain = list(vec![leaf("name", "=", Value::str("x"))]);
        for level in (0..levels).rev() {
            let field = if level % 2 == 0 { "account_online_account_ids" } else { "account_online_link_id" };
            domain = list(vec![leaf(field, "any", domain)]);
        }
        domain
    }

    #[test]
    fn depth_counts_across_any_and_dotted_paths() {
        let too_deep = |domain: &Value| Domain::parse(domain).is_err_and(|e| e.message().contains("relational steps"));
        assert!(!too_deep(&nested_any(MAX_RELATIONAL_DEPTH)));
        // What the attack sent: 34 and 60 levels of `any` (2.5 KB); before, each restarted the count.
        for levels in [MAX_RELATIONAL_DEPTH + 1, 34, 60] {
            assert!(too_deep(&nested_any(levels)), "{levels}");
        }
        // A dotted path's hops are subqueries too.
        let hops = |n: usize| {
            let path = (0..n).map(|i| if i % 2 == 0 { "account_online_account_ids" } else { "account_online_link_id" });
            list(vec![leaf(&path.chain(["name"]).collect::<Vec<_>>().join("."), "=", Value::str("x"))])
        };
        assert!(!too_deep(&hops(MAX_RELATIONAL_DEPTH)) && too_deep(&hops(MAX_RELATIONAL_DEPTH + 1)));
        // Operators count in the same budget: an `any` under a chain as deep as the budget allows is refused.
        let chain = |ops: usize, inner: Value| {
            let mut items = Vec::new();
            for i in 0..ops {
                items.push(Value::str(if i % 2 == 0 { "&" } else { "|" }));
                items.push(leaf("name", "=", Value::str("x")));
            }
            items.push(leaf("account_online_account_ids", "any", inner));
            list(items)
        };
        let inner = list(vec![leaf("name", "=", Value::str("x"))]);
        assert!(Domain::parse(&chain(MAX_DOMAIN_DEPTH - 3, inner.clone())).is_ok());
        assert!(too_deep(&chain(MAX_DOMAIN_DEPTH - 2, inner)));
        // `not any` under `!` is `any`, parsed once.
        let negated = list(vec![Value::str("!"), leaf("account_online_account_ids", "not any", list(vec![]))]);
        assert!(matches!(Domain::parse(&negated).unwrap(), Domain::Any { negate: false, .. }));
    }

    #[test]
    fn true_and_false_leaves() {
        assert_eq!(
            Domain::parse(&list(vec![list(vec![Value::Int(1), Value::str("="), Value::Int(1)])])).unwrap(),
            Domain::True
        );
        assert_eq!(
            Domain::parse(&list(vec![list(vec![Value::Int(0), Value::str("="), Value::Int(1)])])).unwrap(),
            Domain::False
        );
        assert_eq!(Domain::parse(&list(vec![])).unwrap(), Domain::True);
    }
}
