"""The two-company corpus (issue 25): two companies, one user in each, and the calls with which one user
reaches for the other company's records; run on Odoo (17 over XML-RPC, 19 over JSON-2) and on the bridge,
answers compared modulo ids as in the single-company corpus.

Odoo's answers: another company's records are an access error naming the user, the operation and the model
on `read`, `write`, `unlink`, x2many commands and buttons; `search`, `search_count`, `name_search` and domains
never find them.
"""

import re

from corpus import ACC, COMPANY, LINK, TX, R

COMPANIES = {"alice": "Initech", "bob": "Globex"}
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-1"}
MISSING = 999999


def ref(label):
    return R(label)


A_LINK, A_ACC, A_TX = ref("A.link"), ref("A.acc"), ref("A.tx")
B_LINK, B_ACC, B_ACC2, B_TX = ref("B.link"), ref("B.acc"), ref("B.acc2"), ref("B.tx")
A_COMPANY, B_COMPANY = ref("A.company"), ref("B.company")

# (label, user, model, values): created in this order, each user in their own company.
SEED = [
    ("A.link", "alice", LINK, {"name": "Initech Bank", "auto_sync": False}),
    ("A.acc", "alice", ACC, {"name": "Initech EUR", "account_online_link_id": A_LINK, "currency_code": "EUR"}),
    ("A.tx", "alice", TX, {"online_transaction_identifier": "ia-1", "date": "2026-03-01", "amount": -12.5,
                           "payment_ref": "initech secret", "online_account_id": A_ACC}),
    ("B.link", "bob", LINK, {"name": "Globex Bank"}),
    ("B.acc", "bob", ACC, {"name": "Globex USD", "account_online_link_id": B_LINK, "currency_code": "USD"}),
    ("B.acc2", "bob", ACC, {"name": "Globex Savings", "account_online_link_id": B_LINK}),
    ("B.tx", "bob", TX, {"online_transaction_identifier": "gb-1", "date": "2026-03-02", "amount": 40.0,
                         "payment_ref": "globex rent", "online_account_id": B_ACC}),
]

LINK_FIELDS = ["name", "account_online_account_ids", "company_id"]
ACC_FIELDS = ["name", "account_online_link_id", "company_id"]


def cases():
    """(user, model, method, args, kwargs, writes) in the order they run; reads of what a refused call would have
    changed follow it."""
    c = []

    def add(user, model, method, args, kwargs=None):
        c.append({"user": user, "model": model, "method": method, "args": args, "kwargs": kwargs or {}})

    def check_untouched():
        add("alice", LINK, "read", [[A_LINK]], {"fields": LINK_FIELDS})
        add("alice", ACC, "read", [[A_ACC]], {"fields": ACC_FIELDS})
        add("alice", TX, "read", [[A_TX]], {"fields": ["payment_ref", "online_account_id"]})
        add("bob", LINK, "read", [[B_LINK]], {"fields": LINK_FIELDS})
        add("bob", ACC, "search_read", [[]], {"fields": ACC_FIELDS, "order": "id"})

    # read, by id: another company's record is an access error, even among one's own or a missing one
    for model, theirs, mine in ((LINK, A_LINK, B_LINK), (ACC, A_ACC, B_ACC), (TX, A_TX, B_TX)):
        add("bob", model, "read", [[theirs]], {"fields": ["display_name"]})
        add("bob", model, "read", [[mine, theirs]], {"fields": ["display_name"]})
        add("bob", model, "read", [[theirs, MISSING]], {"fields": ["display_name"]})
        add("bob", model, "read", [[mine]], {"fields": ["display_name"]})
    add("bob", LINK, "read", [[MISSING]], {"fields": ["name"]})
    add("bob", COMPANY, "read", [[A_COMPANY]], {"fields": ["name"]})
    add("bob", COMPANY, "read", [[B_COMPANY]], {"fields": ["name"]})
    add("alice", LINK, "read", [[B_LINK]], {"fields": ["name"]})
    add("alice", ACC, "read", [[B_ACC]])
    add("bob", LINK, "exists", [[A_LINK, B_LINK]])
    c[-1]["deviation"] = "exists-own-company"
    # invisible to search, search_count, name_search, search_read and domains
    for user in ("alice", "bob"):
        for model in (LINK, ACC, TX):
            add(user, model, "search", [[]], {"order": "id"})
            add(user, model, "search_count", [[]])
        add(user, ACC, "name_search", [""])
        add(user, COMPANY, "search_read", [[]], {"fields": ["name"]})
    for model, theirs in ((LINK, A_LINK), (ACC, A_ACC), (TX, A_TX)):
        add("bob", model, "search", [[("id", "=", theirs)]])
        add("bob", model, "search", [[("id", "in", [theirs, MISSING])]])
        add("bob", model, "search_count", [[("id", "=", theirs)]])
        add("bob", model, "search_read", [[("id", "=", theirs)]], {"fields": ["display_name"]})
    add("bob", ACC, "name_search", ["Initech"])
    add("bob", ACC, "name_search", ["EUR"], {"args": [("currency_code", "=", "EUR")]})
    add("bob", LINK, "name_search", ["Bank"])
    add("bob", ACC, "search", [[("account_online_link_id", "=", A_LINK)]])
    add("bob", ACC, "search", [[("account_online_link_id.name", "ilike", "initech")]])
    add("bob", ACC, "search_count", [[("name", "ilike", "initech")]])
    add("bob", TX, "search", [[("online_account_id", "=", A_ACC)]])
    add("bob", TX, "search", [[("online_account_id.name", "=", "Initech EUR")]])
    add("bob", TX, "search", [[("online_account_id.account_online_link_id.name", "=", "Initech Bank")]])
    add("bob", TX, "search_count", [[("payment_ref", "ilike", "initech")]])
    add("bob", TX, "search_read", [[("online_account_id.account_online_link_id", "=", A_LINK)]], {"fields": ["id"]})
    add("bob", LINK, "search", [[("account_online_account_ids", "any", [("name", "=", "Initech EUR")])]])
    add("bob", LINK, "search", [[("account_online_account_ids", "in", [A_ACC])]])
    add("bob", LINK, "search", [[("account_online_account_ids.currency_code", "=", "EUR")]])
    add("bob", LINK, "search", [[("company_id", "=", A_COMPANY)]])
    add("bob", LINK, "search", [[("company_id.name", "=", COMPANIES["alice"])]])
    add("bob", LINK, "search", [["|", ("name", "=", "Initech Bank"), ("auto_sync", "=", False)]])
    add("bob", COMPANY, "search", [[("name", "=", COMPANIES["alice"])]])
    add("bob", COMPANY, "name_search", [COMPANIES["alice"]])

    # write: refused whole, with one's own records too; nothing changes
    add("bob", LINK, "write", [[A_LINK], {"name": "pwned"}])
    add("bob", LINK, "write", [[B_LINK, A_LINK], {"name": "pwned"}])
    add("bob", ACC, "write", [[A_ACC], {"name": "pwned"}])
    add("bob", TX, "write", [[A_TX], {"payment_ref": "pwned"}])
    add("bob", TX, "write", [[A_TX, MISSING], {"payment_ref": "pwned"}])
    add("alice", LINK, "write", [[B_LINK], {"auto_sync": False}])
    check_untouched()
    # x2many commands that reach another company's records
    for command in ([(4, A_ACC)], [(6, 0, [A_ACC])], [(6, 0, [B_ACC, A_ACC])], [(1, A_ACC, {"name": "pwned"})],
                    [(2, A_ACC)], [(3, A_ACC)], [(1, B_ACC, {"name": "Globex USD"}), (4, A_ACC)]):
        add("bob", LINK, "write", [[B_LINK], {"account_online_account_ids": command}])
    add("bob", LINK, "create", [{"name": "Hijack", "account_online_account_ids": [(4, A_ACC)]}])
    # records put in the other company
    add("bob", LINK, "create", [{"name": "Planted", "company_id": A_COMPANY}])
    add("bob", ACC, "create", [{"name": "Planted", "account_online_link_id": B_LINK, "company_id": A_COMPANY}])
    check_untouched()
    # buttons on another company's record
    for button in ("action_fetch_accounts", "action_fetch_transactions", "action_update_credentials",
                   "action_revoke_consent", "action_remove_connection", "action_new_synchronization"):
        add("bob", LINK, button, [[A_LINK]])
    add("bob", LINK, "action_fetch_transactions", [[B_LINK, A_LINK]])
    add("bob", LINK, "action_revoke_consent", [[MISSING]])
    # unlink: refused whole; nothing is deleted
    add("bob", TX, "unlink", [[A_TX]])
    add("bob", ACC, "unlink", [[B_ACC2, A_ACC]])
    add("bob", LINK, "unlink", [[A_LINK]])
    add("alice", TX, "unlink", [[B_TX]])
    check_untouched()
    add("bob", TX, "search", [[]])
    # last, so that what Odoo accepts here changes no later answer: moving one's record to the other company
    add("bob", LINK, "write", [[B_LINK], {"company_id": A_COMPANY}])
    c[-1]["deviation"] = "company-move"
    for n, case in enumerate(c):
        case["id"] = f"c{n}"
        case["writes"] = True  # in order: the reads after a refused write see what it left
    return c


def seed(endpoints, ids, companies):
    """Creates the seed records, each by its user (`endpoints[user].raw`), and registers their labels;
    `companies` maps each user to their company's id on this server."""
    for user, company_id in companies.items():
        ids.register(COMPANY, company_id, "A.company" if user == "alice" else "B.company")
    from corpus import resolve

    for label, user, model, values in SEED:
        new = endpoints[user].raw(model, "create", [resolve(values, ids)])
        ids.register(model, new[0] if isinstance(new, list) else new, label)


def user_ids_replaced(outcome, uids):
    """The outcome with each user's id in an access error's text (`Sorry, bob (id=7)`) replaced by the login."""
    if outcome[0] not in ("fault", "http") or not isinstance(outcome[-1], str):
        return outcome
    text = outcome[-1]
    for login, uid in uids.items():
        text = re.sub(rf"\b{re.escape(login)} \(id={uid}\)", f"{login} (id=<{login}>)", text)
    return (*outcome[:-1], text)


def odoo_users(admin):
    """In Odoo, as the administrator (an XML-RPC differential.Endpoint): both companies and their users, each
    user allowed their own company only. Returns {login: company id}."""
    companies = {}
    for login, company in COMPANIES.items():
        company_id = admin.raw(COMPANY, "create", [{"name": company}])
        admin.raw("res.users", "create", [{"name": login, "login": login, "password": PASSWORDS[login],
                                            "company_id": company_id, "company_ids": [(6, 0, [company_id])]}])
        companies[login] = company_id
    return companies


def bridge_companies(endpoints):
    """{login: company id} of the bridge's users (XML-RPC endpoints by login)."""
    return {login: endpoint.raw("res.users", "read", [[endpoint.uid]], {"fields": ["company_id"]})[0]["company_id"][0]
            for login, endpoint in endpoints.items()}


def xmlrpc_outcome(endpoint, model, method, args, kwargs):
    """differential.Endpoint.call, with an access error's whole text (it names the user, the operation and
    the model below its first line)."""
    import xmlrpc.client

    from differential import fault_first_line

    try:
        return ("ok", endpoint.raw(model, method, args, kwargs))
    except xmlrpc.client.Fault as fault:
        if fault.faultCode == 4:
            return ("fault", 4, fault.faultString.strip())
        return ("fault", fault.faultCode, fault_first_line(fault))
    except Exception as e:  # noqa: BLE001 - recorded, then compared
        return ("error", type(e).__name__)


def run(call, case_list, ids, fields, uids):
    """Runs the cases in order with `call(user, model, method, args, kwargs)`; {case id: normalized outcome}."""
    from corpus import resolve
    from differential import Normalizer

    norm = Normalizer(fields, ids)
    results = {}
    for case in case_list:
        outcome = call(case["user"], case["model"], case["method"], resolve(case["args"], ids),
                       resolve(case["kwargs"], ids))
        results[case["id"]] = user_ids_replaced(norm.outcome(case["model"], case["method"], outcome), uids)
    return results
