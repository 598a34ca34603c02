"""Seed data and the corpus of calls of the differential test. Records are named by labels (`model#n`, in
creation order), which each endpoint resolves to its own ids, so the same corpus runs on Odoo and on the bridge.

A case is a dict: id, model, method, args, kwargs, and optionally `deviation` (a key of deviations.DEVIATIONS),
`unordered` (the answer's order is the database's: compared as a set),
`creates` (the call returns new ids, registered under labels `<case id>:<n>`) and `writes` (the case changes
data: it runs in order after every read-only case).
"""

TX = "account.online.transaction"
ACC = "account.online.account"
LINK = "account.online.link"
INST = "account.online.institution"
COMPANY = "res.company"


class R:
    """A reference to a seeded (or corpus-created) record, resolved per endpoint."""

    def __init__(self, label):
        self.label = label

    def __repr__(self):
        return f"R({self.label!r})"


def inst(n):
    return R(f"{INST}#{n}")


def link(n):
    return R(f"{LINK}#{n}")


def acc(n):
    return R(f"{ACC}#{n}")


def tx(n):
    return R(f"{TX}#{n}")


def resolve(value, ids):
    """`value` with every R replaced by the endpoint's id (tuples become lists, as on the wire)."""
    if isinstance(value, R):
        return ids.record_id(value.label)
    if isinstance(value, (list, tuple)):
        return [resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------- seed data

LINKS = [
    {"name": "Crédit Agricole", "institution_id": inst(9), "provider_code": "credit_modele_fr", "auto_sync": True,
     "renewal_contact_email": "ops@example.com"},
    {"name": "BANQUE ÉCOLE", "institution_id": inst(1), "provider_code": "fakebank_simple_xf", "auto_sync": False},
    {"name": False, "institution_id": False, "provider_code": False},
    {"name": "Fake Bank", "institution_id": inst(6), "auto_sync": True, "renewal_contact_email": ""},
    {"name": "100% bank_x", "institution_id": inst(1), "provider_code": "fakebank_simple_xf"},
]

ACCOUNTS = [
    {"name": "Savings", "account_number": "DE89 3704 0044", "currency_code": "EUR", "account_online_link_id": link(1),
     "journal_id": 5, "last_sync": "2026-01-31", "inverse_transaction_sign": False},
    {"name": "Main savings", "account_number": False, "currency_code": "USD", "account_online_link_id": link(1),
     "last_sync": False},
    {"name": "Checking", "account_number": "FR76 3000 6000", "currency_code": "EUR", "account_online_link_id": link(2),
     "journal_id": 0, "inverse_transaction_sign": True},
    {"name": "CAFÉ account", "account_number": "", "account_online_link_id": link(4), "journal_id": 7,
     "last_sync": "2026-02-15"},
    {"name": "100% Business", "currency_code": False, "account_online_link_id": link(5), "journal_id": False},
    {"name": "Joint_account", "account_number": "GB29 NWBK", "currency_code": "GBP", "account_online_link_id": link(2),
     "last_sync": "2026-03-01"},
]

_TX_ROWS = [
    # payment_ref, date, amount, partner_name, status, account, currency
    ("CAFÉ MÜLLER", "2026-01-05", -12.5, "Café Müller GmbH", "posted", 1, "EUR"),
    ("café du coin", "2026-01-05", -3.2, False, "posted", 1, "EUR"),
    ("Salary November", "2026-01-10", 2500.0, "ACME Corp", "posted", 3, "EUR"),
    ("salary december", "2026-02-10", 2500.0, "ACME Corp", "posted", 3, "EUR"),
    ("50% discount", "2026-01-12", -49.99, "Shop", "posted", 2, "USD"),
    ("under_score", "2026-01-13", 0.0, False, "pending", 2, "USD"),
    ("back\\slash", "2026-01-14", 1.0, "Back Slash", "posted", 4, False),
    ("", "2026-01-15", 7.5, "", "posted", 4, "EUR"),
    (False, "2026-01-16", -100.0, False, "pending", 5, False),
    ("Rent", "2026-02-01", -950.0, "Landlord", "posted", 3, "EUR"),
    ("école fees", "2026-02-02", -300.0, "École Primaire", "posted", 6, "GBP"),
    ("ÉCOLE supplies", "2026-02-03", -45.0, "ÉCOLE", "posted", 6, "GBP"),
    ("Groceries", "2026-02-03", -60.25, "Market", "posted", 1, "EUR"),
    ("groceries", "2026-02-04", -20.0, "market", "pending", 1, "EUR"),
    ("Transfer to savings", "2026-02-05", -500.0, False, "posted", 3, "EUR"),
    ("a%b", "2026-02-06", 3.0, "percent", "posted", 2, "USD"),
    ("A_B", "2026-02-07", 4.0, "underscore", "posted", 2, "USD"),
    ("O'Brien's pub", "2026-02-08", -15.0, "O'Brien", "posted", 4, "EUR"),
    ("Strasse 5", "2026-02-09", 0.01, "STRASSE", "posted", 5, "EUR"),
    ("x", "2026-03-01", 100000.0, "X", "posted", 5, "EUR"),
    ("Refund savings", "2026-03-02", 12.5, "Shop", "posted", 2, "USD"),
    ("ΑΘΗΝΑ taverna", "2026-03-03", -33.0, "αθηνα", "posted", 6, "EUR"),
]

TRANSACTIONS = [
    {"online_transaction_identifier": f"tx-{i + 1}", "payment_ref": ref, "date": date, "amount": amount,
     "partner_name": partner, "status": status, "online_account_id": acc(account), "currency_code": currency,
     "account_number": "NL91 ABNA" if i % 5 == 0 else False}
    for i, (ref, date, amount, partner, status, account, currency) in enumerate(_TX_ROWS)
]

# Fields the bridge manages itself (clients may not write them there): set in the bridge's database directly
# and by `write` in Odoo, so that domains and orders on them have data. {model: {label index: {field: value}}}
MANAGED_VALUES = {
    LINK: {
        1: {"state": "connected", "last_refresh": "2026-02-01 10:00:00", "expiring_synchronization_date": "2026-06-30",
            "connection_identifier": "conn-1", "client_id": "cust-1", "has_unlinked_accounts": False},
        2: {"state": "error", "error_message": "Invalid credentials\nsecond line", "last_refresh": "2026-01-20 08:30:00",
            "expiring_synchronization_date": "2026-04-01"},
        4: {"state": "connected", "connection_identifier": "conn-4", "next_refresh": "2026-03-01 00:00:00"},
    },
    ACC: {
        1: {"balance": 1200.5, "fetching_status": "done", "online_identifier": "acc-1"},
        2: {"balance": -50.0, "fetching_status": "planned", "online_identifier": "acc-2"},
        3: {"balance": 0.0, "online_identifier": "acc-3"},
        6: {"fetching_status": "processing"},
    },
    TX: {
        1: {"raw_data": '{"id": "1", "extra": {"merchant": "CAFÉ"}}'},
        3: {"raw_data": ""},
    },
}

TABLES = {LINK: "online_links", ACC: "online_accounts", TX: "online_transactions"}


# ------------------------------------------------------------------------------------------------ corpus

# Per field type: values tried with every operator, and more tried with `=` and `ilike` only.
CORE_VALUES = {
    "char": ["sav", False],
    "text": ["second", False],
    "integer": [5, False],
    "float": [12.5, False],
    "boolean": [True, False],
    "date": ["2026-02-03", False],
    "datetime": ["2026-02-01 10:00:00", False],
    "selection": [False],  # plus the field's first value
    "many2one": [False],  # plus a record reference
    "one2many": [False],  # plus a record reference
}
EXTRA_VALUES = {
    "char": ["Savings", "", "café", "%", "_", "a_b", "\\", 5],
    "text": ["", "%"],
    "integer": [0, "5", 5.5],
    "float": [0, "12.5", "abc"],
    "boolean": [1, "yes"],
    "date": ["2026-13-01", "garbage", "2026-02-03 12:00:00"],
    "datetime": ["2026-02-01", "not a date"],
    "selection": ["nope"],
    "many2one": ["savings", 0, 999999],
    "one2many": ["savings", 999999],
}
# The fields tried with every operator: one of each type per model (the transaction's label gets every value
# with every operator: it holds the wildcard, backslash, empty, NULL and non-ASCII cases).
DOMAIN_FIELDS = {
    TX: ["payment_ref", "raw_data", "amount", "status", "date", "online_account_id", "id",
         "display_name"],
    ACC: ["name", "balance", "journal_id", "inverse_transaction_sign", "last_sync",
          "fetching_status", "account_online_link_id", "id", "display_name"],
    LINK: ["name", "error_message", "auto_sync", "last_refresh", "expiring_synchronization_date", "state",
           "institution_id", "account_online_account_ids", "id", "display_name"],
    INST: ["name", "max_consent_days", "mode", "id", "display_name"],
}

OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "=?", "like", "not like", "ilike", "not ilike", "=like", "=ilike",
             "in", "not in"]

REFS = {INST: [inst(1), inst(9)], LINK: [link(1), link(3)], ACC: [acc(1), acc(4)], TX: [tx(1), tx(9)]}


def domain_cases(fields):
    """Every operator on every field type of every model, with values of the field's type and of other types."""
    cases = []
    for model, names in DOMAIN_FIELDS.items():
        for name in names:
            desc = fields[model][name]
            ftype = "display_name" if name == "display_name" else "id" if name == "id" else desc["type"]
            core = list(CORE_VALUES.get(ftype, ["sav", False]))
            extra = list(EXTRA_VALUES.get(ftype, ["", "%", "café"]))
            if ftype == "selection":
                core = [desc["selection"][0][0]] + core
            if ftype in ("many2one", "one2many"):
                core = [REFS[desc["relation"]][0]] + core
            if ftype == "id":
                core, extra = [REFS[model][0], False], [0, 999999, "3"]
            if name == "payment_ref":
                core = core + extra
            for op in OPERATORS:
                if op in ("in", "not in"):
                    real = [v for v in core + extra if v is not False][:2]
                    chosen = [real, [False], real[0]]
                elif op in ("=", "ilike"):
                    chosen = core + [v for v in extra if v not in core]
                elif op in ("!=", "like", "not ilike") or name == "payment_ref":
                    chosen = core
                else:
                    chosen = core[:1]
                for value in chosen:
                    cases.append({"model": model, "method": "search", "args": [[(name, op, value)]]})
    return cases


def special_domain_cases():
    d = []
    # text against a relational field, dotted paths, any / not any
    for op in ("=", "!=", "ilike", "not ilike", "like", "=ilike", "in", "not in"):
        value = ["Savings", "Checking"] if op in ("in", "not in") else "savings" if "like" in op else "Savings"
        d.append((TX, [("online_account_id", op, value)]))
        d.append((LINK, [("account_online_account_ids", op, value)]))
        d.append((ACC, [("account_online_link_id", op, value if op not in ("=", "!=") else "Fake Bank")]))
    d += [
        (TX, [("online_account_id.name", "ilike", "sav")]),
        (TX, [("online_account_id.name", "=", "Savings")]),
        (TX, [("online_account_id.account_online_link_id.name", "ilike", "crédit")]),
        (TX, [("online_account_id.account_online_link_id.institution_id.code", "=", "credit_modele_fr")]),
        (TX, [("online_account_id.currency_code", "=", False)]),
        (TX, [("online_account_id.journal_id", ">", 0)]),
        (TX, [("online_account_id.last_sync", "<", "2026-02-01")]),
        (TX, [("company_id.name", "=", "Acme")]),
        (TX, [("online_account_id.nope", "=", 1)]),
        (TX, [("amount.nope", "=", 1)]),
        (ACC, [("account_online_link_id.name", "ilike", "é")]),
        (ACC, [("account_online_link_id.institution_id.name", "ilike", "fake")]),
        (ACC, [("account_online_link_id.institution_id", "=", False)]),
        (LINK, [("account_online_account_ids.name", "ilike", "sav")]),
        (LINK, [("account_online_account_ids.name", "not ilike", "sav")]),
        (LINK, [("account_online_account_ids", "=", False)]),
        (LINK, [("account_online_account_ids", "!=", False)]),
        (LINK, [("account_online_account_ids.balance", ">", 0)]),
        (LINK, [("institution_id.name", "ilike", "fake")]),
        (LINK, [("institution_id.country_code", "in", ["FR", "DE"])]),
        (TX, [("online_account_id", "any", [("name", "ilike", "sav")])]),
        (TX, [("online_account_id", "not any", [("name", "ilike", "sav")])]),
        (TX, [("online_account_id", "any", [("account_online_link_id", "any", [("state", "=", "connected")])])]),
        (TX, [("online_account_id", "any", [])]),
        (TX, [("amount", "any", [])]),
        (LINK, [("account_online_account_ids", "any", [("currency_code", "=", "EUR")])]),
        (LINK, [("account_online_account_ids", "not any", [("currency_code", "=", "EUR")])]),
        (LINK, [("account_online_account_ids", "any", [("nope", "=", 1)])]),
        (ACC, [("account_online_link_id", "any", [("name", "=", False)])]),
        # prefix logic
        (TX, ["|", ("amount", ">", 100), ("amount", "<", -100)]),
        (TX, ["!", ("status", "=", "posted")]),
        (TX, ["&", "|", ("status", "=", "pending"), ("amount", ">", 0), ("currency_code", "=", "EUR")]),
        (TX, ["!", "|", ("status", "=", "pending"), ("payment_ref", "=", False)]),
        (TX, ["|", "!", ("amount", "<", 0), "&", ("status", "=", "posted"), ("partner_name", "ilike", "shop")]),
        (TX, [("amount", "<", 0), ("status", "=", "posted"), "|", ("currency_code", "=", "EUR"),
              ("currency_code", "=", False)]),
        (TX, ["|", ("amount", "<", 0)]),
        (TX, ["&", ("amount", "<", 0)]),
        (TX, ["!"]),
        (TX, ["|", "|", "|", ("amount", "=", 1), ("amount", "=", 3), ("amount", "=", 4), ("amount", "=", 7.5)]),
        (TX, [(1, "=", 1)]),
        (TX, [(0, "=", 1)]),
        (TX, ["!", (1, "=", 1)]),
        (TX, [("amount", "=")]),
        (TX, [("amount", "=", 1, 2)]),
        (TX, [("amount", "between", 1)]),
        (TX, [("nope", "=", 1)]),
        (TX, ["nope"]),
        (TX, "not a list"),
        (TX, [["status", "=", "posted"]]),
        (TX, [("status", "in", "pending")]),
        (TX, [("status", "=", ["pending"])]),
        (TX, [("amount", "=?", False)]),
        (TX, [("amount", "=?", 2500)]),
        (TX, [("payment_ref", "=like", "sal%")]),
        (TX, [("payment_ref", "=ilike", "sal%")]),
        (TX, [("payment_ref", "=like", "_")]),
        (TX, [("payment_ref", "like", "\\_")]),
        (TX, [("payment_ref", "like", "\\%")]),
        (TX, [("payment_ref", "ilike", "\\\\")]),
        (TX, [("date", "=", "2026-02-03"), ("amount", "<", -50)]),
        (TX, [("partner_name", "ilike", "ÉCOLE")]),
        (TX, [("partner_name", "ilike", "αθηνα")]),
        (TX, [("payment_ref", "ilike", "ΑΘΗΝΑ")]),
        (TX, [("payment_ref", "ilike", "straße")]),
        (TX, [("child_of_nope", "child_of", 1)]),
        (ACC, [("id", "child_of", [1])]),
        (ACC, [("journal_id", "=", False)]),
        (ACC, [("journal_id", "!=", False)]),
        (ACC, [("balance", "=", False)]),
        (ACC, [("balance", "=", 0)]),
        (ACC, [("balance", "!=", 0)]),
        (ACC, [("balance", "<", 1)]),
        (LINK, [("state", "in", ["connected", "error"])]),
        (LINK, [("expiring_synchronization_date", "<", "2026-05-01")]),
        (LINK, [("last_refresh", ">=", "2026-02-01")]),
        (LINK, [("error_message", "ilike", "second")]),
    ]
    return [{"model": m, "method": "search", "args": [dom]} for m, dom in d]


def order_paging_cases():
    cases = []
    # Odoo adds no tie-breaker: every valid order ends with a unique key, so that both answers are determined.
    orders = {
        TX: ["amount, id", "amount desc, id", "amount asc, id desc", "payment_ref, id", "payment_ref desc, id",
             "payment_ref asc nulls first, id", "payment_ref asc nulls last, id", "payment_ref desc nulls last, id",
             "payment_ref desc nulls first, id", "partner_name desc, id", "online_account_id, id",
             "online_account_id desc, id", "online_account_id desc nulls last, id", "company_id, id",
             "display_name, id", "display_name desc, id desc", "date, amount desc, id", "status, date, id", "id desc",
             "online_transaction_identifier", "amount up", "nope", "amount desc desc", "id; drop table x", "",
             "online_account_id.name", "currency_code desc nulls last, id", "raw_data, id", "AMOUNT, id",
             "amount DESC, id", "amount desc nulls, id"],
        ACC: ["balance, id", "balance desc, id", "balance desc nulls last, id", "journal_id, id",
              "journal_id desc, id", "last_sync, id", "last_sync desc nulls first, id", "account_online_link_id, id",
              "account_online_link_id desc, id", "fetching_status, id", "inverse_transaction_sign, id",
              "inverse_transaction_sign desc, id", "account_online_account_ids", "name, id"],
        LINK: ["institution_id, id", "institution_id desc, id", "institution_id nulls first, id", "name, id",
               "name desc nulls last, id", "state, id", "auto_sync desc, id", "last_refresh, id",
               "account_online_account_ids, id"],
        INST: ["code", "country_code, name", "max_consent_days desc, name", "id desc"],
    }
    for model in orders:
        # Odoo 17 leaves out of ORDER BY the fields without a column: `display_name` alone sorts nothing.
        orders[model] = orders[model] + ["display_name", "display_name desc"]
    for model, items in orders.items():
        for order in items:
            cases.append({"model": model, "method": "search", "args": [[]], "kwargs": {"order": order}})
            if order.startswith("display_name") and "," not in order:
                cases[-1]["unordered"] = True
    for kw in ({"limit": 5}, {"limit": 0}, {"offset": 3}, {"offset": 3, "limit": 4}, {"offset": 100},
               {"offset": -1}, {"limit": -1}, {"limit": "x"}, {"offset": 2, "limit": 2, "order": "amount, id"},
               {"limit": False}, {"offset": False}, {"limit": 3.0}):
        cases.append({"model": TX, "method": "search", "args": [[]], "kwargs": kw})
        cases.append({"model": TX, "method": "search_read", "args": [[("amount", "<", 0)]],
                      "kwargs": dict(kw, fields=["payment_ref"])})
    cases.append({"model": TX, "method": "search", "args": [[], 2, 3, "amount, id"]})
    cases.append({"model": TX, "method": "search", "args": [[]], "kwargs": {"count": True}})
    for dom in ([], [("amount", "<", 0)], [("online_account_id", "ilike", "sav")], "bad"):
        cases.append({"model": TX, "method": "search_count", "args": [dom]})
    cases.append({"model": TX, "method": "search_count", "args": [[]], "kwargs": {"limit": 3}})
    return cases


def read_cases(fields):
    c = []
    for model, refs in REFS.items():
        c.append({"model": model, "method": "read", "args": [refs]})
        c.append({"model": model, "method": "search_read", "args": [[]]})
        c.append({"model": model, "method": "read", "args": [refs], "kwargs": {"load": ""}})
        c.append({"model": model, "method": "name_get", "args": [refs]})
        c.append({"model": model, "method": "exists", "args": [refs + [999999]]})
    c += [
        {"model": TX, "method": "read", "args": [[tx(1)], ["amount", "payment_ref"]]},
        {"model": TX, "method": "read", "args": [[tx(9)], ["display_name", "payment_ref"]]},
        {"model": TX, "method": "read", "args": [[tx(8)], ["display_name"]]},
        {"model": TX, "method": "read", "args": [tx(1)], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[999999]], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[tx(1), 999999]], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[tx(2), tx(2)]], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[]], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[tx(1)]], "kwargs": {"fields": "amount"}},
        {"model": TX, "method": "read", "args": [[tx(1)]], "kwargs": {"fields": ["nope"]}},
        {"model": TX, "method": "read", "args": [[tx(1)]], "kwargs": {"fields": ["amount", "amount", "id"]}},
        {"model": TX, "method": "read", "args": [["x"]], "kwargs": {"fields": ["amount"]}},
        {"model": TX, "method": "read", "args": [[tx(1)]], "kwargs": {"fields": ["online_account_id"], "load": None}},
        {"model": TX, "method": "search_read", "args": [[("amount", ">", 100)], ["payment_ref", "online_account_id"]]},
        {"model": TX, "method": "search_read", "args": [],
         "kwargs": {"domain": [("status", "=", "pending")], "fields": ["payment_ref"], "order": "amount, id"}},
        {"model": TX, "method": "search_read", "args": [[("payment_ref", "=", False)]],
         "kwargs": {"fields": ["display_name", "payment_ref"]}},
        {"model": ACC, "method": "search_read", "args": [[]],
         "kwargs": {"fields": ["balance", "journal_id", "last_sync", "fetching_status", "account_number"]}},
        {"model": LINK, "method": "search_read", "args": [[]],
         "kwargs": {"fields": ["account_online_account_ids", "institution_id", "display_name", "state"]}},
        {"model": LINK, "method": "read", "args": [[link(3)]], "kwargs": {"fields": ["display_name", "name"]}},
        {"model": COMPANY, "method": "search_read", "args": [[]], "kwargs": {"fields": ["name"]}},
        {"model": "no.such.model", "method": "search", "args": [[]]},
        {"model": TX, "method": "no_such_method", "args": [[]]},
        {"model": TX, "method": "_private", "args": [[]]},
        {"model": TX, "method": "search", "args": [[]], "kwargs": {"nope": 1}},
        {"model": TX, "method": "default_get", "args": [["status", "amount"]]},
        {"model": ACC, "method": "default_get", "args": [["inverse_transaction_sign", "name"]]},
        {"model": LINK, "method": "default_get", "args": [["state", "auto_sync", "has_unlinked_accounts"]]},
        {"model": TX, "method": "check_access_rights", "args": ["read"]},
        {"model": TX, "method": "check_access_rights", "args": ["unlink"], "kwargs": {"raise_exception": False}},
    ]
    for name in ("sav", "Savings", "", "é", "%", "_", "zz"):
        c.append({"model": ACC, "method": "name_search", "args": [name]})
        c.append({"model": TX, "method": "name_search", "args": [name], "kwargs": {"limit": 5}})
    c += [
        {"model": ACC, "method": "name_search", "args": ["savings"], "kwargs": {"operator": "="}},
        {"model": ACC, "method": "name_search", "args": ["Savings"], "kwargs": {"operator": "="}},
        {"model": ACC, "method": "name_search", "args": ["sav"], "kwargs": {"operator": "not ilike"}},
        {"model": ACC, "method": "name_search", "args": ["sav"], "kwargs": {"args": [("currency_code", "=", "EUR")]}},
        {"model": ACC, "method": "name_search", "args": ["sav"], "kwargs": {"limit": 1}},
        {"model": LINK, "method": "name_search", "args": [""]},
        {"model": INST, "method": "name_search", "args": ["fake"], "kwargs": {"limit": 3}},
    ]
    attributes = ["type", "string", "required", "readonly", "relation", "selection", "help", "relation_field"]
    for model in (TX, ACC, LINK, INST):
        c.append({"model": model, "method": "fields_get", "args": [], "kwargs": {"attributes": attributes}})
    c.append({"model": TX, "method": "fields_get", "args": [["amount", "status"]], "kwargs": {"attributes": ["type"]}})
    c.append({"model": TX, "method": "fields_get", "args": [["nope"]], "kwargs": {"attributes": ["type"]}})
    return c


def write_cases():
    """Creates, writes (every field type, every x2many command), unlinks and their errors, each followed by
    reads of what it changed. They run after the read-only cases, in this order."""
    c = []

    def add(model, method, args, kwargs=None, **extra):
        case = {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}
        case.update(extra)
        c.append(case)
        return case

    def read(model, refs, fields):
        add(model, "read", [refs], {"fields": fields})

    # creates: every field type, defaults, coercions, errors
    add(LINK, "create", [{"name": "W link", "institution_id": inst(2)}], creates=True, id="wl")
    wl = R("wl:1")
    read(LINK, [wl], ["name", "institution_id", "state", "auto_sync", "company_id", "has_unlinked_accounts",
                      "account_online_account_ids", "display_name"])
    add(ACC, "create", [{"name": "W acc", "account_online_link_id": wl, "journal_id": 3, "last_sync": "2026-05-05",
                         "inverse_transaction_sign": True, "currency_code": "CHF", "account_number": "CH93"}],
        creates=True, id="wa")
    wa = R("wa:1")
    read(ACC, [wa], ["name", "account_online_link_id", "journal_id", "last_sync", "inverse_transaction_sign",
                     "balance", "currency_code", "company_id", "fetching_status"])
    add(ACC, "create", [{"name": "W acc2", "account_online_link_id": wl}], creates=True, id="wa2")
    read(ACC, [R("wa2:1")], ["journal_id", "balance", "last_sync", "inverse_transaction_sign"])
    add(ACC, "create", [[{"name": "W acc3", "account_online_link_id": wl}, {"name": "W acc4",
                                                                           "account_online_link_id": wl}]],
        creates=True, id="wa34")
    base_tx = {"online_transaction_identifier": "w-1", "date": "2026-04-01", "amount": 10.0, "online_account_id": wa}
    add(TX, "create", [dict(base_tx, payment_ref="W tx", partner_name="P", currency_code="EUR")], creates=True, id="wt")
    wt = R("wt:1")
    read(TX, [wt], ["payment_ref", "amount", "date", "status", "online_account_id", "company_id", "display_name"])
    add(TX, "create", [dict(base_tx, online_transaction_identifier="w-2", amount=False)], creates=True, id="wt2")
    read(TX, [R("wt2:1")], ["amount"])
    add(TX, "create", [dict(base_tx, online_transaction_identifier="w-3", amount="3.5")], creates=True, id="wt3")
    read(TX, [R("wt3:1")], ["amount"])
    add(TX, "create", [dict(base_tx, online_transaction_identifier="w-4", amount=7)], creates=True, id="wt4")
    read(TX, [R("wt4:1")], ["amount"])
    for n, bad in enumerate([{"date": "2026-02-30"}, {"date": "garbage"}, {"date": 20260101}, {"status": "nope"},
                             {"amount": "abc"}, {"amount": [1]}, {"online_account_id": [acc(1), acc(2)]},
                             {"online_account_id": 999999}, {"online_account_id": "Savings"},
                             {"online_account_id": False}, {"date": False}, {"nope": 1}, {"payment_ref": 5},
                             {"payment_ref": ["x"]}, {"id": 5}, {"display_name": "x"}]):
        add(TX, "create", [dict(base_tx, online_transaction_identifier=f"bad-{n}", **bad)], creates=True, id=f"bad{n}")
    add(TX, "create", [{"payment_ref": "missing required"}], creates=True, id="missing")
    add(TX, "create", [dict(base_tx)], creates=True, id="dup")  # unique (account, identifier)
    add(TX, "create", ["not a dict"], creates=True, id="notdict")
    add(TX, "create", [[]], creates=True, id="emptylist")
    add(LINK, "create", [{"name": "x\x01y"}], creates=True, id="ctl")

    # writes of every field type
    for vals in ({"payment_ref": "changed"}, {"payment_ref": False}, {"payment_ref": ""}, {"amount": -1.25},
                 {"amount": False}, {"amount": "2.5"}, {"amount": 4}, {"date": "2026-12-31"}, {"date": False},
                 {"date": "2026-12-31 10:00:00"}, {"status": "pending"}, {"status": "nope"}, {"status": False},
                 {"online_account_id": R("wa2:1")}, {"online_account_id": False}, {"online_account_id": [wa]},
                 {"online_account_id": "W acc"}, {"online_account_id": 7.5}, {"online_account_id": R("wa2:1")},
                 {"currency_code": 5}, {"partner_name": "Zoë"}):
        add(TX, "write", [[wt], vals])
        read(TX, [wt], ["payment_ref", "amount", "date", "status", "online_account_id", "partner_name",
                        "currency_code"])
    for vals in ({"journal_id": False}, {"journal_id": 0}, {"journal_id": 12}, {"journal_id": "12"},
                 {"journal_id": 1.5}, {"journal_id": "x"}, {"last_sync": False}, {"last_sync": "2026-07-01"},
                 {"inverse_transaction_sign": False}, {"inverse_transaction_sign": 1},
                 {"inverse_transaction_sign": "yes"}, {"account_online_link_id": link(4)}):
        add(ACC, "write", [[R("wa2:1")], vals])
        read(ACC, [R("wa2:1")], ["journal_id", "last_sync", "inverse_transaction_sign", "account_online_link_id"])
    add(ACC, "search", [[("journal_id", "=", False), ("name", "like", "W acc")]])
    add(ACC, "search", [[("journal_id", "=", 0), ("name", "like", "W acc")]])
    for vals in ({"auto_sync": False}, {"renewal_contact_email": "a@b.c"}, {"institution_id": False},
                 {"institution_id": inst(3)}, {"institution_id": "Fake Bank"}, {"institution_id": inst(3)},
                 {"institution_id": [inst(3)]}, {"name": "Renamed"}, {"name": False}):
        add(LINK, "write", [[wl], vals])
        read(LINK, [wl], ["auto_sync", "renewal_contact_email", "institution_id", "name", "display_name"])

    # x2many commands on the link's accounts
    children = ["account_online_account_ids"]
    for n, cmd in enumerate([
        [(0, 0, {"name": "Via command"})],
        [(1, wa, {"name": "W acc renamed"})],
        [(1, 999999, {"name": "nobody"})],
        [(4, acc(6))],
        [(3, acc(6))],
        [(2, R("wa34:1"))],
        [(6, 0, [wa, R("wa2:1")])],
        [(5,)],
        [(5, 0, 0)],
        [wa],
        [(9, 0, 0)],
        [(0, 0, {"name": "A"}), (0, 0, {"name": "B"})],
        [(0, 0, {"nope": 1})],
        [(2, 999999)],
        [("x",)],
        "not a list",
        False,
    ]):
        add(LINK, "write", [[wl], {"account_online_account_ids": cmd}], id=f"x2m{n}")
        read(LINK, [wl], children)
        add(ACC, "search_read", [[("name", "in", ["Via command", "A", "B", "W acc renamed", "W acc", "W acc2",
                                                   "W acc3", "W acc4", "Joint_account"])]],
            {"fields": ["name", "account_online_link_id"], "order": "name, id"})
    add(LINK, "create", [{"name": "With children", "account_online_account_ids": [(0, 0, {"name": "Child 1"}),
                                                                                  (0, 0, {"name": "Child 2"})]}],
        creates=True, id="wc")
    read(LINK, [R("wc:1")], ["account_online_account_ids"])
    add(ACC, "search_read", [[("account_online_link_id", "=", R("wc:1"))]], {"fields": ["name", "company_id"]})

    # writes on missing records, several records, bad arguments
    add(TX, "write", [[999999], {"payment_ref": "ghost"}])
    add(TX, "write", [[wt, 999999], {"payment_ref": "half"}])
    read(TX, [wt], ["payment_ref"])
    add(TX, "write", [[wt, R("wt2:1")], {"partner_name": "both"}])
    read(TX, [wt, R("wt2:1")], ["partner_name"])
    add(TX, "write", [[], {"payment_ref": "nobody"}])
    add(TX, "write", [[wt], "not a dict"])
    add(TX, "write", [[wt], {"nope": 1}])
    add(TX, "write", [[wt], {"id": 5}])
    add(TX, "write", [[wt], {"payment_ref": "a\ufffeb"}])
    read(TX, [wt], ["payment_ref"])

    # unlink
    add(TX, "unlink", [[R("wt4:1")]])
    add(TX, "search", [[("online_transaction_identifier", "like", "w-")]])
    add(TX, "unlink", [[999999]])
    add(TX, "unlink", [[R("wt3:1"), 999999]])
    add(TX, "search", [[("online_transaction_identifier", "like", "w-")]])
    add(ACC, "unlink", [[wa]])
    add(TX, "search", [[("online_transaction_identifier", "like", "w-")]])
    add(TX, "unlink", [["x"]])
    # deliberate deviations (deviations.py), last so that what Odoo accepts here changes no later answer
    for vals in ({"state": "connected"}, {"error_message": "x"}, {"last_refresh": "2026-01-01 00:00:00"},
                 {"connection_identifier": "c"}, {"client_id": "c"}, {"has_unlinked_accounts": False}):
        add(LINK, "write", [[wl], vals], deviation="managed-field")
    for vals in ({"balance": 5.0}, {"fetching_status": "done"}, {"online_identifier": "o"}):
        add(ACC, "write", [[wa], vals], deviation="managed-field")
    add(TX, "write", [[wt], {"raw_data": "{}"}], deviation="managed-field")
    add(LINK, "create", [{"name": "managed", "state": "connected"}], deviation="managed-field")
    add(INST, "create", [{"name": "New bank", "code": "new_bank"}], deviation="institutions-read-only")
    add(INST, "write", [[inst(2)], {"name": "Renamed bank"}], deviation="institutions-read-only")
    add(INST, "unlink", [[inst(13)]], deviation="institutions-read-only")

    for n, case in enumerate(c):
        case.setdefault("id", f"w{n}")
        case["writes"] = True  # run in order, after the read-only cases
    return c


def list_and_date_cases():
    """A list where one value is expected (Odoo reads `=` / `!=` with a list as `in` / `not in`, an empty one
    included), and a date against a datetime field with each comparison. After the other cases, so that their
    ids (deviations.KNOWN_DIFFERENCES) stay as they are."""
    d = [
        (ACC, [("name", "=", [])]),
        (ACC, [("name", "!=", [])]),
        (ACC, [("name", "=", ["Savings", "Checking"])]),
        (ACC, [("name", "!=", ["Savings"])]),
        (TX, [("amount", "=", [])]),
        (TX, [("online_account_id", "=", [])]),
        (TX, [("online_account_id", "!=", [])]),
        (LINK, [("id", "=", [])]),
        (LINK, [("last_refresh", "=", "2026-02-01")]),
        (LINK, [("last_refresh", "<", "2026-02-01")]),
        (LINK, [("last_refresh", "<=", "2026-01-20")]),
        (LINK, [("last_refresh", ">", "2026-01-20")]),
    ]
    return [{"model": m, "method": "search", "args": [dom]} for m, dom in d]


def corpus(fields):
    cases = (domain_cases(fields) + special_domain_cases() + order_paging_cases() + read_cases(fields)
             + list_and_date_cases())
    for n, case in enumerate(cases):
        case.setdefault("id", f"r{n}")
        case.setdefault("kwargs", {})
    return cases + write_cases()


# -------------------------------------------------------------------------------------------------- seeding

def seed(endpoint, ids, set_managed, institutions=None):
    """Creates the seed data through XML-RPC and registers labels. The bridge brings its institutions (from
    its Salt Edge sandbox): pass `institutions=None` there; Odoo gets the bridge's list created in the same
    order. `set_managed(model, record_id, values)` writes the fields the bridge manages itself."""
    company_id = endpoint.raw("res.users", "read", [[endpoint.uid]], {"fields": ["company_id"]})[0]["company_id"][0]
    ids.register(COMPANY, company_id, f"{COMPANY}#1")
    if institutions is None:
        for rid in endpoint.raw(INST, "search", [[]], {"order": "id"}):
            ids.register(INST, rid)
    else:
        endpoint.raw(COMPANY, "write", [[company_id], {"name": "Acme"}])
        for values in institutions:
            ids.register(INST, endpoint.raw(INST, "create", [values]))
    for model, rows in ((LINK, LINKS), (ACC, ACCOUNTS), (TX, TRANSACTIONS)):
        for values in rows:
            ids.register(model, endpoint.raw(model, "create", [resolve(values, ids)]))
    for model, by_index in MANAGED_VALUES.items():
        for index, values in by_index.items():
            set_managed(model, ids.record_id(f"{model}#{index}"), values)


def institution_values(bridge_endpoint):
    """The bridge's institutions as create() values, in id order."""
    rows = bridge_endpoint.raw(INST, "search_read", [[]], {"order": "id"})
    return [{k: v for k, v in row.items() if k not in ("id", "display_name", "create_date", "write_date")}
            for row in rows]
