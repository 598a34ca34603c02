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
