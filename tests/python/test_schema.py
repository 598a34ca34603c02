"""One schema on both backends, and it is the model registry's: `bankbridge migrate` runs on a fresh SQLite file
and a fresh PostgreSQL database; both are introspected (tables, columns with a portable type and nullability,
unique and plain indexes, foreign keys with their ON DELETE) and must be equal; then every stored field that
`fields_get` reports for every model must be a column of the model's table with a matching type, NOT NULL when
the field is required, and every other column must be one of the bridge's internal columns listed here."""

import sqlite3

import pytest

import harness

# Model -> table. ir.model must list exactly these models, so a new model makes this test ask for its table.
MODEL_TABLES = {
    "res.company": "companies",
    "res.users": "users",
    "ir.model": "ir_models",
    "account.online.institution": "online_institutions",
    "account.online.link": "online_links",
    "account.online.account": "online_accounts",
    "account.online.transaction": "online_transactions",
}
# Columns that are no field: the bridge's own bookkeeping, never shown to clients.
INTERNAL_COLUMNS = {
    "companies": {"create_date"},
    "users": {"password_hash", "create_date", "credential_generation"},
    "online_links": {"renewal_contact_phone", "return_url", "next_refresh_possible_at", "sync_claimed_by",
                     "sync_claimed_until", "bank_reads", "balances_read_at", "followed_by", "followed_until",
                     "follow_marker"},
    "online_accounts": {"last_transaction_identifier", "session_account_id"},
}
# Tables that hold no model at all.
INTERNAL_TABLES = {"api_keys", "bridge_settings", "saltedge_customers", "saltedge_return_states", "web_sessions",
                   "login_throttle"}
# The column type each field type is stored as (dates and datetimes are ISO text on both backends).
STORED_AS = {
    "char": "text", "text": "text", "selection": "text", "date": "text", "datetime": "text",
    "integer": "integer", "many2one": "integer", "float": "float", "boolean": "boolean",
}
# NOT NULL columns of fields that are not required: booleans are never NULL (False is stored), as in Odoo;
# a number never set is NULL (issue 16 item 7), so no other column is listed here.
NOT_NULL_BUT_OPTIONAL = set()


def portable_type(declared):
    t = declared.lower()
    if t in ("integer", "bigint", "int", "int8", "smallint"):
        return "integer"
    if t in ("text", "character varying") or t.startswith("varchar"):
        return "text"
    if t == "boolean":
        return "boolean"
    if t in ("double precision", "real", "double", "float"):
        return "float"
    return f"unknown:{t}"


def sqlite_schema(path):
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '__diesel%'")]
        schema = {"columns": {}, "indexes": set(), "foreign_keys": set()}
        for table in tables:
            schema["columns"][table] = {
                name: (portable_type(ctype), bool(notnull) or bool(pk))
                for _, name, ctype, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")
            }
            for _, index, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})"):
                if origin == "pk":
                    continue
                columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index})"))
                schema["indexes"].add((table, columns, bool(unique)))
            for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
                schema["foreign_keys"].add((table, row[3], row[2], row[4], row[6].upper()))
        return schema
    finally:
        conn.close()


ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def postgres_schema(url):
    schema = {"columns": {}, "indexes": set(), "foreign_keys": set()}
    for table, column, ctype, nullable in harness.query_sql(url, (
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%'")):
        schema["columns"].setdefault(table, {})[column] = (portable_type(ctype), nullable == "NO")
    for table, unique, columns in harness.query_sql(url, (
            "SELECT t.relname, ix.indisunique, string_agg(a.attname, ',' ORDER BY k.n) "
            "FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid "
            "JOIN pg_namespace ns ON ns.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE ns.nspname = 'public' AND NOT ix.indisprimary AND t.relname NOT LIKE '\\_\\_diesel%' "
            "GROUP BY t.relname, ix.indexrelid, ix.indisunique")):
        schema["indexes"].add((table, tuple(columns.split(",")), unique == "t"))
    for table, column, target, target_column, action in harness.query_sql(url, (
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname, c.confdeltype "
            "FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
            "WHERE c.contype = 'f'")):
        schema["foreign_keys"].add((table, column, target, target_column, ON_DELETE[action]))
    return schema


def migrate(database_url):
    harness.run_cli("--database", database_url, "migrate", check=True)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("schema")
    sqlite_url = harness.new_database_url("sqlite", workdir)
    postgres_url = harness.new_database_url("postgres", workdir)
    migrate(sqlite_url)
    migrate(postgres_url)
    return sqlite_url, sqlite_schema(sqlite_url), postgres_schema(postgres_url)


def test_postgres_and_sqlite_migrations_give_the_same_schema(schemas):
    _, lite, pg = schemas
    assert sorted(lite["columns"]) == sorted(pg["columns"])
    for table in lite["columns"]:
        assert lite["columns"][table] == pg["columns"][table], table
    assert lite["indexes"] == pg["indexes"]
    assert lite["foreign_keys"] == pg["foreign_keys"]
    # Not vacuous: the schema holds every model's table.
    assert set(MODEL_TABLES.values()) | INTERNAL_TABLES == set(lite["columns"])


def test_the_schema_of_both_backends_matches_the_model_registry(schemas, servers):
    sqlite_url, lite, _ = schemas
    call = harness.Api(servers.bridge(database=sqlite_url, users={"schema": "Schema Co"}), "schema")
    assert sorted(r["model"] for r in call("ir.model", "search_read", [], fields=["model"])) == sorted(MODEL_TABLES)
    for model, table in MODEL_TABLES.items():
        fields = call(model, "fields_get", attributes=["type", "required", "store", "relation"])
        columns = dict(lite["columns"][table])
        assert columns.pop("id") == ("integer", True), table
        for name, field in fields.items():
            if name in ("id", "display_name") or not field["store"] or field["type"] == "one2many":
                continue
            assert name in columns, f"{model}.{name} has no column in {table}"
            ctype, not_null = columns.pop(name)
            assert ctype == STORED_AS[field["type"]], (model, name, ctype, field["type"])
            if field["required"]:
                assert not_null, f"{model}.{name} is required but {table}.{name} is nullable"
            elif not_null:
                assert field["type"] == "boolean" or (table, name) in NOT_NULL_BUT_OPTIONAL, (model, name)
            if field["type"] == "many2one":
                target = MODEL_TABLES[field["relation"]]
                assert any(fk[:4] == (table, name, target, "id") for fk in lite["foreign_keys"]), (model, name)
        assert set(columns) == INTERNAL_COLUMNS.get(table, set()), (model, sorted(columns))
        for name, field in fields.items():
            if field["type"] == "one2many":
                comodel = call(model, "fields_get", [name], attributes=["relation", "relation_field"])[name]
                target = MODEL_TABLES[comodel["relation"]]
                assert comodel["relation_field"] in lite["columns"][target], (model, name)
