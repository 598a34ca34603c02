//! The dialect's decisions: the same domain read for Odoo 17 and for Odoo 19, evaluated on records whose
//! fields are NULL, empty or set (the evaluator is the compiler's reference, `tests/domain_sql.rs`).

use super::*;
use crate::orm::model::{Field, Model};

const STATES: &[(&str, &str)] = &[("posted", "Posted"), ("pending", "Pending")];

fn registry() -> Registry {
    let model = |name: &'static str, fields: Vec<Field>| Model {
        name,
        description: name,
        table: "t",
        fields,
        rec_name: "name",
        order: "id",
        scope: crate::orm::model::CompanyScope::Global,
        access: crate::orm::model::Access::ALL,
    };
    Registry::new(vec![
        model(
            "x.line",
            vec![
                Field::new("name", "Name", FieldType::Char),
                Field::new("amount", "Amount", FieldType::Float),
                Field::new("count", "Count", FieldType::Integer),
                Field::new("flag", "Flag", FieldType::Boolean),
                Field::new("state", "State", FieldType::Selection(STATES)),
                Field::new("partner_id", "Partner", FieldType::Many2one("x.partner")),
            ],
        ),
        model(
            "x.partner",
            vec![
                Field::new("name", "Name", FieldType::Char),
                Field::new("line_ids", "Lines", FieldType::One2many("x.line", "partner_id")),
            ],
        ),
    ])
}

fn leaf_value(field: &str, op: &str, value: Value) -> Value {
    Value::List(vec![Value::List(vec![Value::str(field), Value::str(op), value])])
}

fn read(serie: OdooSerie, domain: &Value) -> Result<Domain> {
    let registry = registry();
    let model = registry.model("x.line")?;
    let domain = Domain::parse_for(domain, serie)?;
    domain.validate(&registry, model)?;
    domain.for_serie(serie, &registry, model)
}

/// Which of the given values of `field` a leaf matches, read for `serie` (None: the leaf is refused).
fn matching(serie: OdooSerie, field: &str, op: &str, value: Value, cells: &[Value]) -> Option<Vec<Value>> {
    let registry = registry();
    let model = registry.model("x.line").ok()?;
    let domain = read(serie, &leaf_value(field, op, value)).ok()?;
    let mut out = Vec::new();
    for cell in cells {
        let get = |name: &str| if name == field { Some(cell.clone()) } else { None };
        if domain.matches(model, &get).ok()? {
            out.push(cell.clone());
        }
    }
    Some(out)
}

fn parsed(domain: Value) -> Domain {
    Domain::parse(&domain).unwrap()
}

fn null() -> Value {
    Value::Bool(false)
}

fn s(text: &str) -> Value {
    Value::str(text)
}

#[test]
fn false_and_empty_values_compare_as_null_in_19_only() {
    use OdooSerie::{V17, V19};
    let names = [null(), s(""), s("alpha"), s("zeta")];
    let m = |serie, op, value| matching(serie, "name", op, value, &names).unwrap();
    assert_eq!(m(V17, "=", Value::Bool(false)), [null()]);
    assert_eq!(m(V19, "=", Value::Bool(false)), [null(), s("")]);
    assert_eq!(m(V17, "=", s("")), [s("")]);
    assert_eq!(m(V19, "=", s("")), [null(), s("")]);
    assert_eq!(m(V17, "!=", Value::Bool(false)), [s(""), s("alpha"), s("zeta")]);
    assert_eq!(m(V19, "!=", Value::Bool(false)), [s("alpha"), s("zeta")]);
    assert_eq!(m(V17, "<", s("b")), [s(""), s("alpha")]);
    assert_eq!(m(V19, "<", s("b")), [null(), s(""), s("alpha")]);
    assert_eq!(m(V19, ">", s("b")), [s("zeta")]);
    assert_eq!(m(V19, "<=", Value::Bool(false)), [null(), s("")]);
    assert_eq!(m(V19, "in", Value::List(vec![s("alpha"), s("")])), [null(), s(""), s("alpha")]);
    assert_eq!(m(V19, "not in", Value::List(vec![Value::Bool(false)])), [s("alpha"), s("zeta")]);
    assert_eq!(m(V19, "not in", Value::List(vec![s("alpha")])), [null(), s(""), s("zeta")]);
    // `=?` with no value is no condition; like with no pattern: everything or nothing, `=like` the empty value.
    assert_eq!(m(V19, "=?", s("")).len(), 4);
    assert_eq!(m(V19, "not ilike", Value::Bool(false)), Vec::<Value>::new());
    assert_eq!(m(V19, "ilike", Value::Bool(false)).len(), 4);
    assert_eq!(m(V19, "=like", s("")), [null(), s("")]);

    let amounts = [null(), Value::Float(0.0), Value::Float(12.5)];
    let a = |serie, op, value| matching(serie, "amount", op, value, &amounts).unwrap();
    assert_eq!(a(V17, "=", Value::Int(0)), [Value::Float(0.0)]);
    assert_eq!(a(V19, "=", Value::Int(0)), [null(), Value::Float(0.0)]);
    assert_eq!(a(V17, "<", Value::Int(1)), [Value::Float(0.0)]);
    assert_eq!(a(V19, "<", Value::Int(1)), [null(), Value::Float(0.0)]);
    assert_eq!(a(V19, "!=", Value::Bool(false)), [Value::Float(12.5)]);
    // `=`/`!=` against an empty list: `in []` in 17, `in [False]` in 19 (`_operator_equal_as_in`).
    assert_eq!(a(V17, "=", Value::List(vec![])), Vec::<Value>::new());
    assert_eq!(a(V19, "=", Value::List(vec![])), [null(), Value::Float(0.0)]);
    assert_eq!(a(V17, "!=", Value::List(vec![])), amounts);
    assert_eq!(a(V19, "!=", Value::List(vec![])), [Value::Float(12.5)]);
    assert_eq!(a(V19, "=", Value::List(vec![Value::Float(12.5)])), [Value::Float(12.5)]);
}

#[test]
fn one_value_stands_for_a_list_in_19_only() {
    use OdooSerie::{V17, V19};
    let states = [Value::Bool(false), s("posted"), s("pending")];
    assert_eq!(matching(V17, "state", "in", s("posted"), &states), None);
    assert_eq!(matching(V19, "state", "in", s("posted"), &states).unwrap(), [s("posted")]);
    assert_eq!(matching(V19, "state", "not in", s("posted"), &states).unwrap(), [Value::Bool(false), s("pending")]);
    let amounts = [Value::Float(12.5), Value::Float(3.0)];
    assert_eq!(matching(V17, "amount", "in", Value::Float(12.5), &amounts), None);
    assert_eq!(matching(V19, "amount", "in", Value::Float(12.5), &amounts).unwrap(), [Value::Float(12.5)]);
    // `in False` is an empty set in 19.
    assert_eq!(matching(V19, "state", "in", Value::Bool(false), &states).unwrap(), Vec::<Value>::new());
}

#[test]
fn display_name_is_searched_through_the_name_in_19_and_dropped_in_17() {
    let d = leaf_value("display_name", "ilike", s("sav"));
    assert_eq!(read(OdooSerie::V17, &d).unwrap(), Domain::parse(&d).unwrap());
    assert_eq!(
        read(OdooSerie::V19, &d).unwrap(),
        Domain::Leaf { path: vec!["name".into()], op: Op::ILike, value: s("sav") }
    );
    let eq_false = read(OdooSerie::V19, &leaf_value("display_name", "=", Value::Bool(false))).unwrap();
    assert_eq!(
        eq_false,
        Domain::Leaf { path: vec!["name".into()], op: Op::In, value: Value::List(vec![Value::Bool(false), s("")]) }
    );
    let names = [Value::Bool(false), s("savings"), s("cheque")];
    let registry = registry();
    let model = registry.model("x.line").unwrap();
    let kept = |d: &Domain| {
        names.iter().filter(|n| d.matches(model, &|f: &str| (f == "name").then(|| (*n).clone())).unwrap()).count()
    };
    assert_eq!(kept(&read(OdooSerie::V17, &d).unwrap()), 3);
    assert_eq!(kept(&read(OdooSerie::V19, &d).unwrap()), 1);
}

#[test]
fn relational_fields_by_pattern_or_name_search_the_display_name_in_19() {
    let like = leaf_value("partner_id", "like", Value::Int(5));
    assert_eq!(read(OdooSerie::V17, &like).unwrap(), Domain::parse(&like).unwrap());
    assert_eq!(
        read(OdooSerie::V19, &like).unwrap(),
        parsed(leaf_value("partner_id", "any", leaf_value("name", "like", s("5"))))
    );
    let not_like = read(OdooSerie::V19, &leaf_value("partner_id", "not ilike", s("x"))).unwrap();
    assert_eq!(not_like, parsed(leaf_value("partner_id", "not any", leaf_value("name", "ilike", s("x")))));
    let mixed = leaf_value("partner_id", "in", Value::List(vec![Value::Int(1), s("savings")]));
    assert_eq!(read(OdooSerie::V17, &mixed).unwrap(), Domain::parse(&mixed).unwrap());
    assert_eq!(
        read(OdooSerie::V19, &mixed).unwrap(),
        Domain::Or(vec![
            parsed(leaf_value("partner_id", "any", leaf_value("name", "in", Value::List(vec![s("savings")])))),
            Domain::Leaf { path: vec!["partner_id".into()], op: Op::In, value: Value::List(vec![Value::Int(1)]) },
        ])
    );
    let mixed_not = read(OdooSerie::V19, &leaf_value("partner_id", "not in", Value::List(vec![Value::Int(1), s("a")])));
    assert!(matches!(mixed_not.unwrap(), Domain::And(items) if items.len() == 2));
    // A relational field like no pattern is one that is set, in 19.
    assert_eq!(
        read(OdooSerie::V19, &leaf_value("partner_id", "ilike", Value::Bool(false))).unwrap(),
        Domain::Leaf { path: vec!["partner_id".into()], op: Op::NotIn, value: Value::List(vec![Value::Bool(false)]) }
    );
}

#[test]
fn a_lone_false_on_a_boolean_is_compared_as_not_true_in_19() {
    let flags = [Value::Bool(false), Value::Bool(true)];
    assert_eq!(matching(OdooSerie::V19, "flag", "=", Value::Bool(false), &flags).unwrap(), [Value::Bool(false)]);
    assert_eq!(
        read(OdooSerie::V19, &leaf_value("flag", "=", Value::Bool(false))).unwrap(),
        Domain::Leaf { path: vec!["flag".into()], op: Op::NotIn, value: Value::List(vec![Value::Bool(true)]) }
    );
}

#[test]
fn false_among_a_one2many_set_means_no_line_in_19() {
    let registry = registry();
    let partner = registry.model("x.partner").unwrap();
    let v19 = |d: &Value| {
        let domain = Domain::parse(d).unwrap();
        domain.for_serie(OdooSerie::V19, &registry, partner).unwrap()
    };
    let no_line = Domain::Leaf { path: vec!["line_ids".into()], op: Op::Eq, value: null() };
    assert_eq!(v19(&leaf_value("line_ids", "in", Value::List(vec![null()]))), no_line);
    assert_eq!(
        v19(&leaf_value("line_ids", "not in", Value::List(vec![null()]))),
        Domain::Leaf { path: vec!["line_ids".into()], op: Op::Ne, value: null() }
    );
    assert_eq!(
        v19(&leaf_value("line_ids", "in", Value::List(vec![null(), Value::Int(4)]))),
        Domain::Or(vec![
            no_line,
            Domain::Leaf { path: vec!["line_ids".into()], op: Op::In, value: Value::List(vec![Value::Int(4)]) }
        ])
    );
    // `ilike False` is "has a line", `not ilike False` "has none"; Odoo 17 reads them as given.
    assert_eq!(
        v19(&leaf_value("line_ids", "ilike", null())),
        Domain::Leaf { path: vec!["line_ids".into()], op: Op::Ne, value: null() }
    );
    let given = leaf_value("line_ids", "ilike", null());
    assert_eq!(
        Domain::parse(&given).unwrap().for_serie(OdooSerie::V17, &registry, partner).unwrap(),
        Domain::parse(&given).unwrap()
    );
}

#[test]
fn what_odoo_19_refuses_is_refused_with_its_python_error() {
    let refused = |d: Value| read(OdooSerie::V19, &d).map(|_| ()).unwrap_err();
    let e = refused(leaf_value("partner_id", "=like", Value::Int(1)));
    assert_eq!(e.odoo_exception(), "builtins.TypeError");
    assert_eq!(e.message(), "The pattern to match must be a string in condition ('partner_id', '=like', 1)");
    let e = refused(leaf_value("flag", "<", Value::Bool(true)));
    assert_eq!(e.odoo_exception(), "builtins.ValueError");
    assert_eq!(
        e.message(),
        "Cannot compare 'flag' to <class 'bool'> which is not a collection of length 1 in condition ('flag', '<', True)"
    );
    let e = refused(leaf_value("flag", "ilike", Value::Bool(true)));
    assert!(e
        .message()
        .ends_with("<class 'str'> which is not a collection of length 1 in condition ('flag', 'ilike', 'True')"));
    let registry = registry();
    let partner = registry.model("x.partner").unwrap();
    let e = Domain::parse(&leaf_value("line_ids", "<", Value::Int(3)))
        .unwrap()
        .for_serie(OdooSerie::V19, &registry, partner)
        .unwrap_err();
    assert_eq!(e.odoo_exception(), "builtins.AssertionError");
    assert_eq!(e.message(), "Relational field x.partner.line_ids expects 'any' operator");
    // Odoo 17 compiles them (or refuses them in its own words, as the SQL compiler does).
    for d in [
        leaf_value("partner_id", "=like", Value::Int(1)),
        leaf_value("flag", "<", Value::Bool(true)),
        leaf_value("flag", "ilike", Value::Bool(true)),
    ] {
        assert_eq!(read(OdooSerie::V17, &d).unwrap(), Domain::parse(&d).unwrap());
    }
}

#[test]
fn a_path_is_read_on_the_comodel_with_19s_meaning() {
    let d = leaf_value("partner_id.name", "=", s(""));
    assert_eq!(read(OdooSerie::V17, &d).unwrap(), Domain::parse(&d).unwrap());
    assert_eq!(
        read(OdooSerie::V19, &d).unwrap(),
        parsed(leaf_value("partner_id", "any", leaf_value("name", "in", Value::List(vec![s(""), null()]))))
    );
    let registry = registry();
    let partner = registry.model("x.partner").unwrap();
    let deep = Domain::parse(&leaf_value("line_ids.partner_id.name", "ilike", s("a"))).unwrap();
    let inner = Value::List(vec![Value::List(vec![s("partner_id"), s("any"), leaf_value("name", "ilike", s("a"))])]);
    assert_eq!(
        deep.for_serie(OdooSerie::V19, &registry, partner).unwrap(),
        parsed(Value::List(vec![Value::List(vec![s("line_ids"), s("any"), inner])]))
    );
}
