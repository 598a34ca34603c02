//! `read` and `search_read` answers, now that display names and many2one pairs are shared rather than
//! copied per record: the same values as Odoo's, whichever fields are asked for, on a real database.

use std::collections::BTreeMap;

use crate::db::{self, test_db, DatabaseUrl};
use crate::orm::methods::call_generic;
use crate::orm::{Call, Env, OdooSerie};
use crate::types::Value;

fn call(model: &'static str, method: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Call {
    Call {
        model,
        method: method.to_string(),
        args,
        kwargs: kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        env: Env::new(1, 1, BTreeMap::new(), OdooSerie::V17),
    }
}

fn names(list: &[&str]) -> Value {
    Value::List(list.iter().map(|n| Value::str(*n)).collect())
}

/// A connection to a fresh database at `url` with its first user (uid 1, company 1), as `call` runs.
fn admin_connection(url: &DatabaseUrl) -> db::DbConn {
    let pool = db::connect(url, 1).expect("db");
    let mut conn = pool.get().expect("connection");
    crate::auth::add_user(&mut conn, "admin", "My Company", None).expect("user");
    conn
}

/// Creates one record; returns its id.
fn create(registry: &crate::orm::Registry, conn: &mut db::AnyConnection, model: &'static str, values: Value) -> i64 {
    match call_generic(registry, conn, &call(model, "create", vec![values], vec![])) {
        Ok(Value::Int(id)) => id,
        other => panic!("{model} create: {other:?}"),
    }
}

/// The texts of the statements `conn` runs from now on, without the values bound (diesel writes them after).
fn statement_texts(conn: &mut db::AnyConnection) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use diesel::connection::{Connection as _, InstrumentationEvent};
    let texts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&texts);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            seen.lock().expect("texts").push(text.split(" -- binds: ").next().unwrap_or_default().to_string());
        }
    });
    texts
}

#[test]
fn display_names_and_related_pairs_read_as_odoo_answers_them_on_sqlite() {
    display_names_and_related_pairs(&test_db::sqlite("read-shared"));
}

#[test]
fn display_names_and_related_pairs_read_as_odoo_answers_them_on_postgres() {
    if let Some(url) = test_db::postgres("read_shared") {
        display_names_and_related_pairs(&url);
    }
}

fn display_names_and_related_pairs(url: &DatabaseUrl) {
    let pool = db::connect(url, 1).expect("db");
    let mut conn = pool.get().expect("connection");
    crate::auth::add_user(&mut conn, "admin", "My Company", None).expect("user");
    let registry = crate::models::registry();
    let mut run = |c: Call| call_generic(&registry, &mut conn, &c).expect("call");
    // Longer than the 24 bytes a text keeps inline, so a copy would allocate.
    let long = "A bank whose name is well over twenty-four bytes";
    let link = run(call("account.online.link", "create", vec![Value::map([("name", Value::str(long))])], vec![]));
    let Value::Int(link) = link else { panic!("link id: {link:?}") };
    let accounts: Vec<Value> = ["Checking", "", "Savings account with a long name, too"]
        .iter()
        .map(|name| Value::map([("name", Value::str(*name)), ("account_online_link_id", Value::Int(link))]))
        .collect();
    run(call("account.online.account", "create", vec![Value::List(accounts)], vec![]));
    let pair = Value::List(vec![Value::Int(link), Value::str(long)]);
    let expected = |name: &str| match name {
        "" => Value::Bool(false),
        name => Value::str(name),
    };
    let sent = ["Checking", "", "Savings account with a long name, too"];
    for fields in [
        &["name", "display_name", "account_online_link_id"][..],
        &["display_name", "account_online_link_id", "name"],
        &["display_name"],
        &["account_online_link_id", "account_online_link_id"],
    ] {
        for method in ["search_read", "read"] {
            let answer = match method {
                "search_read" => run(call(
                    "account.online.account",
                    method,
                    vec![Value::List(vec![])],
                    vec![("fields", names(fields)), ("order", Value::str("id"))],
                )),
                _ => run(call(
                    "account.online.account",
                    method,
                    vec![Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])],
                    vec![("fields", names(fields))],
                )),
            };
            let Value::Records(records) = answer else { panic!("records: {answer:?}") };
            let maps = records.into_maps();
            assert_eq!(maps.len(), 3, "{method} {fields:?}");
            for (record, name) in maps.iter().zip(sent) {
                let Value::Map(record) = record else { panic!("a struct: {record:?}") };
                let mut want = BTreeMap::from([("id".to_string(), record["id"].clone())]);
                for field in fields {
                    let value = match *field {
                        // The empty name reads back as it was written, and as no display name.
                        "name" => Value::str(name),
                        "display_name" => expected(name),
                        _ => pair.clone(),
                    };
                    want.insert(field.to_string(), value);
                }
                assert_eq!(record, &want, "{method} {fields:?}");
            }
        }
    }
}

/// Several models' display names in as few statements as the id lists allow, each part's names its own,
/// also when the parts name more ids than one statement lists.
#[test]
fn display_names_of_several_models_come_back_to_their_own_part() {
    use crate::orm::read::Orm;
    let pool = db::connect(&test_db::sqlite("display-names-of"), 1).expect("db");
    let mut conn = pool.get().expect("connection");
    crate::auth::add_user(&mut conn, "admin", "My Company", None).expect("user");
    let registry = crate::models::registry();
    let link = call_generic(
        &registry,
        &mut conn,
        &call("account.online.link", "create", vec![Value::map([("name", Value::str("Bank"))])], vec![]),
    )
    .expect("link");
    assert_eq!(link, Value::Int(1));
    let env = Env::new(1, 1, BTreeMap::new(), OdooSerie::V17);
    let orm = Orm { registry: &registry, backend: conn.backend(), env: &env };
    let (links, companies) = (registry.model("account.online.link").unwrap(), registry.model("res.company").unwrap());
    for listed in [1, 6_000] {
        // Ids 2.. name no record: only id 1 of each model has a name.
        let ids: Vec<i64> = (1..=listed).collect();
        let names = orm.display_names_of(&mut conn, &[(links, &ids), (companies, &ids), (links, &[])]).expect("names");
        let found: Vec<Vec<(i64, Value)>> = names.into_iter().map(|names| names.0).collect();
        assert_eq!(
            found,
            vec![vec![(1, Value::str("Bank"))], vec![(1, Value::str("My Company"))], vec![]],
            "{listed} ids per part"
        );
    }
}

/// The ids a statement looks up are bound, not written into its text: reading other records (their
/// fields, related names and one2many ids, or a domain naming ids) runs the very same statement texts,
/// each prepared once per connection. With the ids in the text, every id list was one more statement to
/// prepare, and once the cache's texts were taken every new one was prepared again at each run.
#[test]
fn reads_of_other_ids_run_the_same_statement_texts_on_sqlite() {
    reads_of_other_ids_run_the_same_statement_texts(&test_db::sqlite("read-bound-ids"));
}

#[test]
fn reads_of_other_ids_run_the_same_statement_texts_on_postgres() {
    if let Some(url) = test_db::postgres("read_bound_ids") {
        reads_of_other_ids_run_the_same_statement_texts(&url);
    }
}

fn reads_of_other_ids_run_the_same_statement_texts(url: &DatabaseUrl) {
    let mut conn = admin_connection(url);
    let registry = crate::models::registry();
    let mut links = Vec::new();
    for name in ["First bank", "Second bank", "Third bank"] {
        let link = create(&registry, &mut conn, "account.online.link", Value::map([("name", Value::str(name))]));
        let account =
            Value::map([("name", Value::str(format!("{name} account"))), ("account_online_link_id", Value::Int(link))]);
        create(&registry, &mut conn, "account.online.account", account);
        links.push(link);
    }
    let texts = statement_texts(&mut conn);
    let mut statements_of = |ids: &[i64]| -> Vec<String> {
        let ids = Value::List(ids.iter().copied().map(Value::Int).collect());
        let link_fields = ("fields", names(&["name", "account_online_account_ids"]));
        let account_fields = ("fields", names(&["name", "account_online_link_id"]));
        for c in [
            call("account.online.link", "read", vec![ids.clone()], vec![link_fields]),
            call(
                "account.online.account",
                "search_read",
                vec![Value::List(vec![Value::List(vec![
                    Value::str("account_online_link_id"),
                    Value::str("in"),
                    ids.clone(),
                ])])],
                vec![account_fields],
            ),
            call(
                "account.online.link",
                "search_read",
                vec![Value::List(vec![Value::List(vec![
                    Value::str("account_online_account_ids"),
                    Value::str("in"),
                    ids,
                ])])],
                vec![("fields", names(&["name"]))],
            ),
        ] {
            call_generic(&registry, &mut conn, &c).expect("read");
        }
        std::mem::take(&mut *texts.lock().expect("texts"))
    };
    // As many ids, other ids (SQLite's texts depend on the count rounded up to a power of two; see
    // `orm::sql`'s test).
    let first = statements_of(&links[..1]);
    assert!(first.len() >= 5, "{first:#?}");
    assert_eq!(first, statements_of(&links[2..]), "reading another id ran other statement texts");
    assert_eq!(statements_of(&links[..2]), statements_of(&links[1..]), "reading other ids ran other statement texts");
}

/// Long id lists (a domain may hold several of 30,000 values) stay within SQLite's 32,766 parameters.
#[test]
fn a_domain_with_two_lists_of_thirty_thousand_ids_is_answered_on_sqlite() {
    let mut conn = admin_connection(&test_db::sqlite("read-long-id-lists"));
    let registry = crate::models::registry();
    let link = create(&registry, &mut conn, "account.online.link", Value::map([("name", Value::str("Bank"))]));
    let account = Value::map([("name", Value::str("Checking")), ("account_online_link_id", Value::Int(link))]);
    create(&registry, &mut conn, "account.online.account", account);
    let ids = Value::List((1..=30_000).map(Value::Int).collect());
    let term = |field: &str| Value::List(vec![Value::str(field), Value::str("in"), ids.clone()]);
    let domain = Value::List(vec![term("id"), term("account_online_link_id")]);
    let found = call_generic(
        &registry,
        &mut conn,
        &call("account.online.account", "search_read", vec![domain], vec![("fields", names(&["name"]))]),
    )
    .expect("search_read");
    assert_eq!(found.list_len(), Some(1), "{found:?}");
}

/// A read selects the columns its fields need and no other: the name field for `display_name`, a
/// many2one's id column for its pair, nothing for a one2many but `id`.
#[test]
fn a_read_selects_only_the_columns_its_fields_need_in_the_members_order() {
    let mut conn = admin_connection(&test_db::sqlite("read-columns"));
    let registry = crate::models::registry();
    create(&registry, &mut conn, "account.online.link", Value::map([("name", Value::str("Bank"))]));
    let texts = statement_texts(&mut conn);
    for (fields, select) in [
        (&["display_name"][..], "SELECT t.id, t.name FROM online_links t"),
        // One item per member, in the order asked: each row is its record as it arrives.
        (&["company_id", "state"], "SELECT t.id, t.company_id, t.state FROM online_links t"),
        // The display name of a name member is that member: nothing is selected for it.
        (&["name", "display_name"], "SELECT t.id, t.name, NULL FROM online_links t"),
        // One2many ids come from their own statement.
        (&["account_online_account_ids"], "SELECT t.id, NULL FROM online_links t"),
    ] {
        let found = call_generic(
            &registry,
            &mut conn,
            &call("account.online.link", "search_read", vec![Value::List(vec![])], vec![("fields", names(fields))]),
        )
        .expect("search_read");
        assert_eq!(found.list_len(), Some(1));
        let texts = std::mem::take(&mut *texts.lock().expect("texts"));
        assert!(texts.iter().any(|t| t.starts_with(select)), "{fields:?}: {texts:#?}");
    }
}
