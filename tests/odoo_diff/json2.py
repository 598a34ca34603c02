"""The JSON-2 side of the differential tests (Odoo 19's `/json/2/<model>/<method>`): an endpoint that calls a
corpus case with named arguments, the outcome of a call, and how outcomes compare.

A case of corpus.py is written as XML-RPC's `execute_kw` takes it (positional `args`, `kwargs`); `named()` turns
it into the JSON-2 body by Odoo 19's signature of the method (`ids` for a method on records). An outcome is
("ok", value) for a 200, else ("http", status, error class, message).
"""

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import harness  # noqa: E402

# Odoo 19's signatures of the methods the corpus calls: (`@api.model`, parameter names in order). Methods that
# Odoo 19 no longer has, or made private, are called by name with `ids` (Odoo answers 404 or 403).
SIGNATURES = {
    "search": (True, ["domain", "offset", "limit", "order"]),
    "search_count": (True, ["domain", "limit"]),
    "search_read": (True, ["domain", "fields", "offset", "limit", "order"]),
    "read": (False, ["fields", "load"]),
    "name_search": (True, ["name", "domain", "operator", "limit"]),
    "fields_get": (True, ["allfields", "attributes"]),
    "default_get": (True, ["fields"]),
    "check_access_rights": (True, ["operation", "raise_exception"]),
    "create": (True, ["vals_list"]),
    "write": (False, ["vals"]),
    "unlink": (False, []),
    "exists": (False, []),
    "name_get": (False, []),
    "action_new_synchronization": (False, ["institution_code", "email", "phone", "return_to"]),
    "action_update_credentials": (False, ["return_to"]),
    "action_fetch_accounts": (False, []),
    "action_fetch_transactions": (False, []),
    "action_revoke_consent": (False, []),
    "action_remove_connection": (False, []),
}

# XML-RPC keyword names that Odoo 19 renamed: what a JSON-2 client sends instead.
RENAMED = {("name_search", "args"): "domain", ("default_get", "fields_list"): "fields"}


class NotExpressible(Exception):
    """A case JSON-2 cannot carry (more positional arguments than the method has parameters)."""


def named(method, args, kwargs):
    """The JSON-2 body of an XML-RPC style call: `ids` first for a method on records, then each positional
    argument under its parameter's name, then the keyword arguments."""
    api_model, params = SIGNATURES.get(method, (True, []))
    body = {}
    args = list(args)
    if not api_model:
        if not args:
            raise NotExpressible(f"{method} without records")
        body["ids"] = args.pop(0)
    if len(args) > len(params):
        raise NotExpressible(f"{method} with {len(args)} positional arguments")
    body.update(zip(params, args))
    for key, value in kwargs.items():
        body[RENAMED.get((method, key), key)] = value
    return body


def message_of(body):
    try:
        error = json.loads(body)
    except ValueError:
        return None, body[:200]
    if not isinstance(error, dict):
        return None, str(error)[:200]
    return error.get("name"), error.get("message")


class Endpoint:
    """One JSON-2 server (Odoo 19 or the bridge) and the API key of one user."""

    def __init__(self, url, db, key, name):
        self.url, self.db, self.key, self.name = url, db, key, name

    def clone(self):
        return Endpoint(self.url, self.db, self.key, self.name)

    def request(self, path, body=None, *, method="POST", headers=None, raw=None, key=True):
        """(status, content type, body text) of one HTTP request."""
        reply = harness.json_request(self.url + path, body, self.key if key else None,
                                     "bearer" if key is True else key, raw,
                                     {"X-Odoo-Database": self.db, **(headers or {})}, method, timeout=120)
        return reply.status, reply.headers.get("Content-Type", ""), reply.data.decode()

    def raw(self, model, method, args, kwargs=None):
        outcome = self.call(model, method, args, kwargs)
        assert outcome[0] == "ok", f"{self.name}: {model}.{method} -> {outcome}"
        return outcome[1]

    def call(self, model, method, args, kwargs=None):
        try:
            body = named(method, args, kwargs or {})
        except NotExpressible as e:
            return ("not expressible", str(e))
        return self.post(f"/json/2/{model}/{method}", body)

    def post(self, path, body, **options):
        status, content_type, text = self.request(path, body, **options)
        if status == 200 and content_type.startswith("application/json"):
            return ("ok", json.loads(text))
        if content_type.startswith("application/json"):
            name, message = message_of(text)
            return ("http", status, name, message)
        return ("http", status, content_type.split(";")[0], None)


# Odoo 19 appends to a record rule's access error a hint about switching companies, which Odoo 17 does not
# write and the bridge (one company per user) leaves out: compared without it.
COMPANY_HINTS = (
    "\n\nThis seems to be a multi-company issue, but you do not have access to the proper company to access the "
    "record anyhow.",
    "\n\nNote: this might be a multi-company issue. Switching company may help - in Odoo, not in real life!",
)


def comparable(outcome):
    """What is compared of an outcome (see COMPARISON_RULES): an answer whole; an error by its status and class,
    and by its message where the message is the protocol's own (werkzeug's errors, except the JSON parser's
    text) or an access error's (which names the user, the operation and the model)."""
    if outcome[0] != "http" or len(outcome) != 4:
        return outcome
    _, status, name, message = outcome
    if status == 500:
        return ("http", 500)
    if name == "werkzeug.exceptions.BadRequest" and (message or "").startswith("could not parse the body as json"):
        return ("http", status, name, "could not parse the body as json")
    if name and (name.startswith("werkzeug.") or name == "odoo.exceptions.AccessError"):
        for hint in COMPANY_HINTS:
            message = (message or "").replace(hint, "")
        return ("http", status, name, message)
    return ("http", status, name)


COMPARISON_RULES = [
    "Ids and timestamps as in the XML-RPC differential (differential.py, deviations.COMPARISON_RULES).",
    "A 500 (an exception that is not Odoo's: Python's ValueError or TypeError, psycopg2's errors) is compared by "
    "its status only: its text is Python's or PostgreSQL's, not the API's.",
    "A 4xx is compared by status and error class; the message too when it is the protocol's own (werkzeug's "
    "NotFound, Unauthorized, UnprocessableEntity, BadRequest but for the JSON parser's text) or an access error "
    "(Odoo 19's multi-company hint aside). Other Odoo exceptions (UserError, ValidationError, MissingError) keep "
    "Odoo 17's texts on the bridge, which XML-RPC's differential compares; Odoo 19 reworded some of them.",
]


# The deliberate deviations (deviations.DEVIATIONS) as JSON-2 carries them.
DEVIATIONS = {
    "managed-field": (
        "Fields the bridge manages itself are refused on client writes (deviations.DEVIATIONS): a 422 "
        "ValidationError over JSON-2 (a 404 MissingError when the record is gone, as any write to it).",
        lambda outcome: outcome[:3] in (("http", 422, "odoo.exceptions.ValidationError"),
                                        ("http", 404, "odoo.exceptions.MissingError")),
    ),
    "institutions-read-only": (
        "Institutions are read-only for clients (deviations.DEVIATIONS): a 403 AccessError over JSON-2.",
        lambda outcome: outcome[:3] == ("http", 403, "odoo.exceptions.AccessError"),
    ),
    "company-move": (
        "A record cannot be moved into another company (deviations.DEVIATIONS): 403 AccessError over JSON-2.",
        lambda outcome: outcome[:3] == ("http", 403, "odoo.exceptions.AccessError"),
    ),
    "exists-own-company": (
        "`exists` is private in Odoo 19 (`@api.private`): 403 over JSON-2, as Odoo 19 answers.",
        lambda outcome: outcome[:3] == ("http", 403, "odoo.exceptions.AccessError"),
    ),
}

# Differences not fixed yet, by case id of corpus.py (the test fails on any other difference, and on any of
# these that matches again, so that the list only shrinks).
KNOWN_DIFFERENCES = {}


def as_xmlrpc(outcome, method):
    """A JSON-2 outcome as XML-RPC would carry the same answer: an HTTP status as the fault code Odoo maps the
    same exception to (500: 1, 422 and 404: 2, 403: 4 or 3, 401: 3), records' ids as `create` of one dict
    answers them."""
    if outcome[0] == "ok":
        value = outcome[1]
        if method == "create" and isinstance(value, list) and len(value) == 1:
            return ("ok", value[0])
        return outcome
    if outcome[0] != "http" or len(outcome) != 4:
        return outcome
    _, status, name, _ = outcome
    code = {500: 1, 422: 2, 404: 2, 401: 3}.get(status)
    if status == 403:
        code = 3 if name == "odoo.exceptions.AccessDenied" else 4
    return ("fault", code)


def odoo17_semantics(json2_outcome, xmlrpc_outcome, case):
    """Whether a difference from Odoo 19 is one of the Odoo 19 ORM changes the bridge does not follow
    (ODOO17_SEMANTICS_LEFT) and its JSON-2 answer is its XML-RPC answer (which the Odoo 17 differential holds
    equal to Odoo 17's). Any other difference is the bridge's: over JSON-2 its ORM speaks Odoo 19."""
    if orm_change(case) is None:
        return False
    mapped = as_xmlrpc(json2_outcome, case["method"])
    if mapped[0] == "fault" and xmlrpc_outcome[0] == "fault":
        return mapped[1] == xmlrpc_outcome[1]
    from differential import same

    return same(mapped, xmlrpc_outcome)


def protocol_cases():
    """Requests about the protocol itself rather than a model method: (id, request options for
    Endpoint.post, what of the answer is compared)."""
    link = "/json/2/account.online.link"
    company = "/json/2/res.company"
    whole = None
    return [
        ("no key", dict(path=f"{link}/search", body={"domain": []}, key=False), whole),
        ("wrong key", dict(path=f"{link}/search", body={"domain": []}, headers={"Authorization": "bearer nope" * 4}),
         whole),
        ("basic auth", dict(path=f"{link}/search", body={"domain": []}, key=False,
                            headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), whole),
        ("BEARER in capitals", dict(path=f"{company}/search_count", body={"domain": []}, key="BEARER"), whole),
        ("other database", dict(path=f"{link}/search", body={"domain": []},
                                headers={"X-Odoo-Database": "not_this_one"}), whole),
        ("no database header", dict(path=f"{company}/search_count", body={"domain": []},
                                    headers={"X-Odoo-Database": None}), whole),
        ("text/plain", dict(path=f"{link}/search", raw=b'{"domain": []}', headers={"Content-Type": "text/plain"}),
         whole),
        ("no content type, empty body", dict(path=f"{link}/search_count", raw=b"", headers={"Content-Type": None}),
         whole),
        ("json with charset", dict(path=f"{company}/search_count", raw=b'{"domain": []}',
                                   headers={"Content-Type": "application/json; charset=utf-8"}), whole),
        ("bad json", dict(path=f"{link}/search", raw=b'{"domain": [}'), whole),
        ("bad json, no key", dict(path=f"{link}/search", raw=b'{"domain": [}', key=False), whole),
        ("a list body", dict(path=f"{link}/search", raw=b"[[]]"), whole),
        ("a string body", dict(path=f"{link}/search_count", raw=b'"x"'), whole),
        ("null body", dict(path=f"{link}/search_count", raw=b"null"), whole),
        ("GET", dict(path=f"{link}/search", body=None, method="GET"), whole),
        ("PUT", dict(path=f"{link}/search", body={"domain": []}, method="PUT"), whole),
        ("/json/2", dict(path="/json/2", body={}), whole),
        ("/json/2/model", dict(path="/json/2/account.online.link", body={}), whole),
        ("/json/2/a/b/c", dict(path="/json/2/a/b/c", body={}), whole),
        ("unknown model", dict(path="/json/2/no.such.model/search", body={"domain": []}), whole),
        ("unknown model, no key", dict(path="/json/2/no.such.model/search", body={"domain": []}, key=False), whole),
        ("unknown method", dict(path=f"{link}/no_such_method", body={}), whole),
        ("private method", dict(path=f"{link}/_read", body={}), whole),
        ("init", dict(path=f"{link}/init", body={}), whole),
        ("api.private exists", dict(path=f"{link}/exists", body={"ids": [1]}), whole),
        ("api.private browse", dict(path=f"{link}/browse", body={}), whole),
        ("api.private sudo", dict(path=f"{link}/sudo", body={}), whole),
        ("name_get is gone", dict(path=f"{link}/name_get", body={"ids": [1]}), whole),
        ("ids on a model method", dict(path=f"{link}/search", body={"ids": [1], "domain": []}), whole),
        ("ids [] on a model method", dict(path=f"{company}/search_count", body={"ids": [], "domain": []}), whole),
        ("ids 0 on a model method", dict(path=f"{company}/search_count", body={"ids": 0, "domain": []}), whole),
        ("missing argument", dict(path=f"{link}/search", body={}), whole),
        ("missing vals_list", dict(path=f"{link}/create", body={"vals": {"name": "x"}}), whole),
        ("unexpected argument", dict(path=f"{link}/search", body={"domain": [], "nope": 1}), whole),
        ("count is gone", dict(path=f"{link}/search", body={"domain": [], "count": True}), whole),
        ("args renamed domain", dict(path=f"{link}/name_search", body={"name": "", "args": []}), whole),
        ("fields_list renamed", dict(path=f"{link}/default_get", body={"fields_list": ["state"]}), whole),
        ("unexpected on a record method", dict(path=f"{link}/read", body={"ids": [], "nope": 1}), whole),
        ("unexpected on unlink", dict(path=f"{link}/unlink", body={"ids": [], "force": True}), whole),
        ("context", dict(path=f"{company}/search_count", body={"domain": [], "context": {"lang": "en_US"}}), whole),
        ("context null", dict(path=f"{company}/search_count", body={"domain": [], "context": None}), whole),
        ("context not a dict", dict(path=f"{link}/search_count", body={"domain": [], "context": "x"}), whole),
        ("read without ids", dict(path=f"{link}/read", body={"fields": ["name"]}), whole),
        ("read ids as one int", dict(path=f"{link}/read", body={"ids": 999999, "fields": ["name"]}), whole),
        ("write without ids", dict(path=f"{link}/write", body={"vals": {"name": "x"}}), whole),
        ("unlink without ids", dict(path=f"{link}/unlink", body={}), whole),
        # One named institution: the corpus unlinks one on Odoo, which the bridge refuses (institutions-read-only),
        # so a count of all of them differs by design.
        ("institutions", dict(path="/json/2/account.online.institution/search_count",
                              body={"domain": [["code", "=", "fakebank_simple_xf"]]}), whole),
        ("create one dict", dict(path=f"{link}/create", body={"vals_list": {"name": "one dict"}}),
         lambda answer: (answer[0], len(answer[1])) if answer[0] == "ok" else answer),
        ("context_get", dict(path="/json/2/res.users/context_get", body={}),
         lambda answer: sorted(answer[1]) if answer[0] == "ok" else answer),
        ("context_get with ids", dict(path="/json/2/res.users/context_get", body={"ids": [1]}), whole),
        ("search_read one field", dict(path="/json/2/res.company/search_read",
                                       body={"domain": [], "fields": ["name"]}), whole),
        ("web version", dict(path="/web/version", body=None, method="GET", key=False),
         lambda answer: (answer[0], answer[1]["version_info"], answer[1]["version"][:4]) if answer[0] == "ok"
         else answer),
        ("json version", dict(path="/json/version", body=None, method="GET", key=False),
         lambda answer: (answer[0], answer[1]["version_info"]) if answer[0] == "ok" else answer),
        ("doc index, no key", dict(path="/doc-bearer/index.json", body=None, method="GET", key=False), whole),
        ("doc of a model", dict(path="/doc-bearer/account.online.link.json", body=None, method="GET"),
         lambda answer: doc_summary(answer)),
        ("doc of a transaction", dict(path="/doc-bearer/account.online.transaction.json", body=None, method="GET"),
         lambda answer: doc_summary(answer)),
        ("doc of an unknown model", dict(path="/doc-bearer/no.such.model.json", body=None, method="GET"),
         lambda answer: answer[:2]),
    ]


# The methods both serve, whose parameters `/doc` must list alike (clients turn positional arguments into
# named ones with them).
DOC_METHODS = ("create", "default_get", "fields_get", "name_search", "read", "search", "search_count",
               "search_read", "unlink", "write")


def doc_summary(answer):
    """Of a model's `/doc` document: its name, its fields with their types and labels, and the served methods'
    parameters (name, kind, default) and `api`."""
    if answer[0] != "ok":
        return answer
    doc = answer[1]
    methods = {}
    for name in DOC_METHODS:
        method = doc["methods"].get(name, {})
        methods[name] = ([(p, d.get("kind"), d.get("default")) for p, d in method.get("parameters", {}).items()],
                         method.get("api", []))
    fields = {name: (d.get("type"), d.get("string")) for name, d in doc["fields"].items()
              if name not in ("create_date", "write_date")}
    return ("ok", doc["model"], doc["name"], fields, methods)


# Odoo 19's ORM changes that the bridge's JSON-2 does not follow (it answers these calls as Odoo 17 does),
# each with the shape of the calls it covers. Everything else of Odoo 19's ORM (NULL and falsy values, one
# value for `in`, display_name in domains, like and names on relational fields, booleans, the errors Odoo 19
# raises, order on fields without a column) is the bridge's own over JSON-2 (OdooSerie::V19).
ODOO17_SEMANTICS_LEFT = (
    ("write with a value that is no dict to a deleted record (19 checks the record first)",
     lambda case, args: case["method"] == "write" and "'not a dict'" in args),
    ("check_access_rights (19: deprecated, answers None)",
     lambda case, args: case["method"] == "check_access_rights"),
    ("child_of on a model without parent (19: error naming parent_id)",
     lambda case, args: "'child_of'" in args),
    ("ilike on a datetime with a date (19 matches its text)",
     lambda case, args: re.search(r"'(last_refresh|next_refresh)', '(not )?i?like', '\d{4}-\d\d-\d\d'", args)),
)


def orm_change(case):
    """Which of the Odoo 19 ORM changes the bridge does not follow a case meets, by the shape of its call
    (None: Odoo 19's answer is expected)."""
    args = repr(case.get("args"))
    for change, meets in ODOO17_SEMANTICS_LEFT:
        if meets(case, args):
            return change
    return None
