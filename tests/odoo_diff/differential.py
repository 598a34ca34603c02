"""The machinery of the differential tests against real Odoo (17 over XML-RPC, 19 over JSON-2: see json2.py):
start Odoo with the mirror module, call an XML-RPC endpoint and record the outcome, translate ids to labels so
that two databases compare, and compare.

An outcome is ("ok", value), ("fault", code, first line of the message) or ("error", what the client raised).
"""

import re
import sys
import threading
import xmlrpc.client
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
import harness  # noqa: E402

ADDONS = HERE / "addons"
MODULE = "bankbridge_mirror"
AUDIT_FIELDS = ("create_date", "write_date")
# Odoo's first line for a fault that PostgreSQL raised (e.g. `invalid input syntax for type date`): only the
# fault code is compared (see deviations.COMPARISON_RULES).
DATABASE_ERROR = "<a PostgreSQL error>"
# Ids the corpus uses for records that do not exist (no seeded or created record gets near them).
MISSING_ID = 999999
# A sandbox's address on loopback (its port is free-picked per run), as bank logos carry it: answers compare
# without it, so that two bridges started one after the other, and Odoo seeded from the first, agree.
SANDBOX_ORIGIN = re.compile(r"^http://127\.0\.0\.1:\d+/")


def without_sandbox_origin(value):
    """`value` with a loopback sandbox's scheme, host and port replaced by a marker (strings, lists, dicts)."""
    if isinstance(value, str):
        return SANDBOX_ORIGIN.sub("http://<sandbox>/", value)
    if isinstance(value, list):
        return [without_sandbox_origin(v) for v in value]
    if isinstance(value, dict):
        return {k: without_sandbox_origin(v) for k, v in value.items()}
    return value


class OdooServer:
    """Odoo (17 or 19) on a throwaway database of the given PostgreSQL server, with the mirror module installed
    by the process that then serves it (no second start-up)."""

    def __init__(self, postgres_url, workdir, serie=17):
        self.odoo = harness.Odoo(postgres_url, workdir, addons=[ADDONS], serie=serie)

    @property
    def url(self):
        return self.odoo.url

    @property
    def db(self):
        return self.odoo.db

    def start(self, timeout=240):
        self.odoo.serve(install=[MODULE], timeout=timeout)
        return self

    def endpoint(self):
        return Endpoint(self.odoo, "admin", "odoo")

    def stop(self):
        self.odoo.stop()


def fault_first_line(fault):
    """The first line of the message of a fault. Odoo sends fault 1 as a Python traceback: the message is
    what follows `ExceptionClass: ` on the first line after the last stack frame."""
    text = fault.faultString or ""
    if text.startswith("Traceback (most recent call last):"):
        lines = text.splitlines()
        last_frame = max((i for i, l in enumerate(lines) if l.startswith("  File ")), default=0)
        for line in lines[last_frame + 1:]:
            if line and not line.startswith(" "):
                if line.startswith("psycopg2."):
                    # PostgreSQL refused what Odoo passed through unchecked: its text is no API.
                    return DATABASE_ERROR
                return re.sub(r"^[\w.]+(Error|Exception|Warning|Denied|Fault)?: ", "", line, count=1).strip()
        return ""
    return text.strip().splitlines()[0].strip() if text.strip() else ""


class Endpoint(harness.Api):
    """One XML-RPC server (Odoo or the bridge) logged in as one user, named in reports. `key`: the user's
    password or API key when `server.keys` does not hold it."""

    def __init__(self, server, login, name, uid=None, key=None):
        super().__init__(server, login, key=key, allow_none=True, uid=uid)
        assert self.uid, f"{name}: cannot log in as {login}"
        self.name = name

    def clone(self):
        """The same login on a connection of its own (a ServerProxy is not shared between threads)."""
        return Endpoint(self.server, self.login, self.name, self.uid, self.key)

    def raw(self, model, method, args, kwargs=None):
        """execute_kw with the arguments exactly as given (a corpus case may pass ill-typed ones on purpose)."""
        return self.models.execute_kw(self.db, self.uid, self.key, model, method, list(args), kwargs or {})

    def call(self, model, method, args, kwargs=None):
        try:
            return ("ok", self.raw(model, method, args, kwargs))
        except xmlrpc.client.Fault as fault:
            return ("fault", fault.faultCode, fault_first_line(fault))
        except Exception as e:  # a protocol error, an unparsable answer: recorded, then compared
            return ("error", type(e).__name__)


class IdMap:
    """Ids of one endpoint translated to labels shared by both endpoints (`model#n`, in creation order)."""

    def __init__(self):
        self.labels = {}
        self.counts = {}

    def register(self, model, record_id, label=None):
        if label is None:
            self.counts[model] = self.counts.get(model, 0) + 1
            label = f"{model}#{self.counts[model]}"
        self.labels[(model, record_id)] = label
        return label

    def label(self, model, record_id):
        """The label of an id; an id seen for the first time (a record made by an x2many command) gets the next
        `model@n`, which matches across endpoints as long as their answers do."""
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id <= 0:
            return record_id
        if record_id >= MISSING_ID:
            return f"missing:{record_id}"
        if (model, record_id) not in self.labels:
            self.counts[model + "@"] = self.counts.get(model + "@", 0) + 1
            self.labels[(model, record_id)] = f"{model}@{self.counts[model + '@']}"
        return self.labels[(model, record_id)]

    def record_id(self, label):
        """The endpoint's id for a label; a record that this endpoint failed to create reads as missing."""
        for (model, rid), lab in self.labels.items():
            if lab == label:
                return rid
        return MISSING_ID - 1


class Normalizer:
    """Rewrites an outcome so that ids become labels and timestamps the bridge and Odoo set themselves become
    a marker; `fields` are Odoo's fields_get of every model (the reference types)."""

    def __init__(self, fields, ids):
        self.fields, self.ids = fields, ids

    def records(self, model, rows):
        out = []
        for row in rows:
            if not isinstance(row, dict):
                out.append(row)
                continue
            norm = {}
            for name, value in row.items():
                norm[name] = self.field_value(model, name, value)
            out.append(norm)
        return out

    def field_value(self, model, name, value):
        if name == "id":
            return self.ids.label(model, value)
        desc = self.fields.get(model, {}).get(name)
        if desc is None:
            return value
        if name in AUDIT_FIELDS:
            return "<timestamp>" if value else value
        if desc["type"] == "many2one":
            if isinstance(value, list) and len(value) == 2:
                return [self.ids.label(desc["relation"], value[0]), value[1]]
            return self.ids.label(desc["relation"], value)
        if desc["type"] in ("one2many", "many2many") and isinstance(value, list):
            return [self.ids.label(desc["relation"], v) for v in value]
        return without_sandbox_origin(value)

    def outcome(self, model, method, outcome):
        if outcome[0] != "ok":
            return outcome
        value = outcome[1]
        if method in ("search", "exists", "create") and isinstance(value, (list, int)) and not isinstance(value, bool):
            value = [self.ids.label(model, v) for v in value] if isinstance(value, list) else self.ids.label(model, value)
        elif method in ("read", "search_read") and isinstance(value, list):
            value = self.records(model, value)
        elif method in ("name_search", "name_get") and isinstance(value, list):
            value = [[self.ids.label(model, p[0]), p[1]] if isinstance(p, list) and len(p) == 2 else p for p in value]
        elif isinstance(value, float) and value == int(value):
            value = int(value) if method == "search_count" else value
        return ("ok", value)


def seed_reference(admin, institutions):
    """Seeds the corpus's records into Odoo as its administrator (`admin`, an Endpoint; the fields the bridge
    manages itself written as any field) and reads Odoo's fields of every model, the reference types; returns
    (ids, fields)."""
    import corpus

    ids = IdMap()
    corpus.seed(admin, ids, lambda model, rid, values: admin.raw(model, "write", [[rid], values]),
                institutions=institutions)
    fields = {
        model: admin.raw(model, "fields_get", [], {"attributes": ["type", "relation", "selection"]})
        for model in (corpus.TX, corpus.ACC, corpus.LINK, corpus.INST)
    }
    fields[corpus.COMPANY] = {"name": {"type": "char"}}
    return ids, fields


def run_corpus(endpoint, cases, ids, fields, threads=4):
    """Runs every case on one endpoint; returns {case id: normalized outcome}. The read-only cases (those
    before the first write case) run on `threads` connections at once; their answers are normalized in corpus
    order afterwards, so labels come out the same as in a sequential run. Write cases run one by one."""
    from concurrent.futures import ThreadPoolExecutor

    from corpus import resolve

    norm = Normalizer(fields, ids)
    first_write = next((i for i, c in enumerate(cases) if c.get("writes")), len(cases))
    local = threading.local()

    def call(case):
        if not hasattr(local, "endpoint"):
            local.endpoint = endpoint.clone()
        return local.endpoint.call(case["model"], case["method"], resolve(case["args"], ids),
                                   resolve(case["kwargs"], ids))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        raw = list(pool.map(call, cases[:first_write]))
    results = {case["id"]: norm.outcome(case["model"], case["method"], out)
               for case, out in zip(cases[:first_write], raw)}
    for case in cases[first_write:]:
        outcome = endpoint.call(case["model"], case["method"], resolve(case["args"], ids), resolve(case["kwargs"], ids))
        if case.get("creates") and outcome[0] == "ok":
            new = outcome[1] if isinstance(outcome[1], list) else [outcome[1]]
            for n, rid in enumerate(new, 1):
                ids.register(case["model"], rid, f"{case['id']}:{n}")
        results[case["id"]] = norm.outcome(case["model"], case["method"], outcome)
    return results


def same(expected, actual):
    """Equal answers; floats equal to 1e-9 and a float equal to an int as the wire makes them."""
    if isinstance(expected, tuple) and expected[:1] == ("fault",) and expected[2:] == (DATABASE_ERROR,):
        return isinstance(actual, tuple) and actual[:2] == expected[:2]
    if isinstance(expected, float) or isinstance(actual, float):
        return (isinstance(expected, (int, float)) and isinstance(actual, (int, float))
                and not isinstance(expected, bool) and not isinstance(actual, bool)
                and abs(expected - actual) < 1e-9)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    return type(expected) is type(actual) and expected == actual


def as_set(outcome):
    """An answer whose order is the database's own, in a fixed order."""
    if outcome[0] == "ok" and isinstance(outcome[1], list):
        return ("ok", sorted(outcome[1], key=repr))
    return outcome


def compare(cases, odoo, bridge, deviations, known=()):
    """(differences, known differences, deviation failures, known differences that match now): lists of
    (case, Odoo's outcome, the bridge's outcome)."""
    differences, still_known, broken, fixed = [], [], [], []
    for case in cases:
        expected, actual = odoo[case["id"]], bridge[case["id"]]
        if case.get("unordered"):
            expected, actual = as_set(expected), as_set(actual)
        if case.get("deviation"):
            _, holds = deviations[case["deviation"]]
            if not holds(actual):
                broken.append((case, expected, actual))
        elif not same(expected, actual):
            (still_known if case["id"] in known else differences).append((case, expected, actual))
        elif case["id"] in known:
            fixed.append((case, expected, actual))
    return differences, still_known, broken, fixed


def first_difference(expected, actual, path=""):
    """Where two answers first differ, as `path: odoo X, bridge Y` (for the report)."""
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        for i, (e, a) in enumerate(zip(expected, actual)):
            if not same(e, a):
                return first_difference(e, a, f"{path}[{i}]")
        if len(expected) != len(actual):
            return f"{path}: odoo has {len(expected)} items, bridge {len(actual)}"
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() | actual.keys():
            if key not in expected or key not in actual or not same(expected[key], actual[key]):
                return first_difference(expected.get(key, "<absent>"), actual.get(key, "<absent>"), f"{path}[{key!r}]")
    return f"{path}: odoo {expected!r}, bridge {actual!r}"[:400]
