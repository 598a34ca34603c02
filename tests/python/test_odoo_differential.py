"""Same calls, same answers as Odoo 17 (issue 16; two companies: issue 25): a plain Odoo module with the bridge's four account.online.*
models (tests/odoo_diff/addons/bankbridge_mirror) runs in real Odoo 17; the same seed data goes into it and into
the real bridge (SQLite and PostgreSQL); a corpus of calls (tests/odoo_diff/corpus.py) runs on both and the
answers are compared modulo ids. Any difference outside tests/odoo_diff/deviations.py fails the test.

Odoo is installed once per session and its answers are reused for both backends of the bridge. Details of
every difference go to target/test-output/odoo-diff-<backend>.txt.
"""

import sys
import time

import pytest

import harness

sys.path.insert(0, str(harness.REPO / "tests" / "odoo_diff"))
import corpus  # noqa: E402
import differential  # noqa: E402
import two_companies  # noqa: E402
from deviations import DEVIATIONS, KNOWN_DIFFERENCES  # noqa: E402

REPORT_DIR = harness.REPO / "target" / "test-output"


class OdooReference:
    """Odoo started once; its answers computed on first use (they need the bridge's institution list)."""

    def __init__(self, server):
        self.server = server
        self.institutions = None
        self.fields = None
        self.cases = None
        self.results = None
        self.two = None

    def answers(self, institutions):
        if self.results is None:
            odoo = self.server.endpoint()
            ids, self.fields = differential.seed_reference(odoo, institutions)
            self.institutions = institutions
            self.cases = corpus.corpus(self.fields)
            started = time.time()
            self.results = differential.run_corpus(odoo, self.cases, ids, self.fields)
            print(f"Odoo answered the corpus in {time.time() - started:.1f} s")
        self.assert_same_institutions(institutions)
        return self.results

    def assert_same_institutions(self, institutions):
        """Odoo was seeded from the first bridge's institutions: the next bridge must list the same."""
        assert (differential.without_sandbox_origin(institutions)
                == differential.without_sandbox_origin(self.institutions)), \
            "both bridges must start from the same institution list"

    def two_company_answers(self):
        """The two-company corpus in Odoo 17 over XML-RPC (after the single-company one: its own companies)."""
        if self.two is None:
            admin = self.server.endpoint()
            companies = two_companies.odoo_users(admin)
            endpoints = {login: differential.Endpoint(self.server, login, f"odoo {login}",
                                                      key=two_companies.PASSWORDS[login])
                         for login in two_companies.COMPANIES}
            self.two = run_two_companies(endpoints, companies, self.fields)
        return self.two


@pytest.fixture(scope="module")
def odoo_reference(tmp_path_factory):
    server = differential.OdooServer(harness.require_postgres(), tmp_path_factory.mktemp("odoo"))
    server.start()
    yield OdooReference(server)
    server.stop()


def _sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def managed_setter(bridge):
    """Writes the fields the bridge manages itself straight into its database (clients may not)."""

    def set_managed(model, record_id, values):
        table = corpus.TABLES[model]
        assignments = ", ".join(f"{column} = {_sql_literal(value)}" for column, value in values.items())
        assert bridge.execute_sql(f"UPDATE {table} SET {assignments} WHERE id = {int(record_id)}") == 1

    return set_managed


def seed_bridge(bridge, endpoint):
    """The corpus's records seeded into the bridge through `endpoint` (the fields it manages itself written
    straight into its database); returns their ids."""
    ids = differential.IdMap()
    corpus.seed(endpoint, ids, managed_setter(bridge))
    return ids


def _bridge_endpoint(bridge):
    endpoint = differential.Endpoint(bridge, "alice", "bridge")
    harness.wait_for(lambda: endpoint.raw(corpus.INST, "search_count", [[]]) > 0, what="institutions")
    return endpoint


def _report(backend, cases, differences, known, broken, fixed):
    compared = [c for c in cases if not c.get("deviation")]
    matched = len(compared) - len(differences) - len(known)
    lines = [
        f"differential test against Odoo 17, bridge on {backend}: corpus {len(cases)} calls, "
        f"{len(compared)} compared, {matched} same answer ({100.0 * matched / len(compared):.1f}%), "
        f"{len(known)} known differences (deviations.KNOWN_DIFFERENCES), {len(differences)} new ones, "
        f"{len(fixed)} known ones that match now, {len(cases) - len(compared)} deliberate deviations "
        f"({len(broken)} not as documented)"
    ]
    for case, expected, actual in differences + broken + fixed + known:
        lines.append(f"- {case['id']} {case['model']}.{case['method']} args={case['args']!r} "
                     f"kwargs={case['kwargs']!r}{' [' + case['deviation'] + ']' if case.get('deviation') else ''}")
        lines.append(f"    odoo:   {expected!r}"[:300])
        lines.append(f"    bridge: {actual!r}"[:300])
        lines.append(f"    first difference at {differential.first_difference(expected, actual)}")
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"odoo-diff-{backend}.txt"
    path.write_text("\n".join(lines) + "\n")
    print(lines[0])
    return lines[0], path


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_same_answers_as_odoo(backend, odoo_reference, servers):
    harness.require_postgres()
    bridge = servers.bridge(backend, users={"alice": "Acme"})
    try:
        endpoint = _bridge_endpoint(bridge)
        odoo = odoo_reference.answers(corpus.institution_values(endpoint))
        ids = seed_bridge(bridge, endpoint)
        started = time.time()
        answers = differential.run_corpus(endpoint, odoo_reference.cases, ids, odoo_reference.fields)
        elapsed = time.time() - started
    finally:
        bridge.stop()
    differences, known, broken, fixed = differential.compare(
        odoo_reference.cases, odoo, answers, DEVIATIONS, KNOWN_DIFFERENCES
    )
    summary, path = _report(backend, odoo_reference.cases, differences, known, broken, fixed)
    print(f"bridge answered the corpus in {elapsed:.1f} s; details in {path}")
    assert not differences and not broken and not fixed, f"{summary}; details in {path}"


def test_corpus_covers_every_operator_on_every_field_type(odoo_reference):
    """The corpus is broad by construction: every operator meets every field type of every model."""
    if odoo_reference.cases is None:
        pytest.skip("the Odoo answers were not computed (the bridge tests did not run)")
    seen = set()
    for case in odoo_reference.cases:
        if case["method"] != "search" or not isinstance(case["args"][0], list):
            continue
        for leaf in case["args"][0]:
            if isinstance(leaf, tuple) and len(leaf) == 3 and isinstance(leaf[0], str) and "." not in leaf[0]:
                ftype = odoo_reference.fields[case["model"]].get(leaf[0], {}).get("type")
                seen.add((case["model"], ftype, leaf[1]))
    for model in (corpus.TX, corpus.ACC, corpus.LINK, corpus.INST):
        types = {d["type"] for n, d in odoo_reference.fields[model].items() if n not in differential.AUDIT_FIELDS}
        for ftype in types:
            for op in corpus.OPERATORS:
                assert (model, ftype, op) in seen, f"no case for {op!r} on a {ftype} field of {model}"
    assert len(odoo_reference.cases) > 1200


def run_two_companies(endpoints, companies, fields):
    """The two-company corpus over XML-RPC on one server, `endpoints` by login."""
    ids = differential.IdMap()
    two_companies.seed(endpoints, ids, companies)
    uids = {login: endpoint.uid for login, endpoint in endpoints.items()}

    def call(user, model, method, args, kwargs):
        return two_companies.xmlrpc_outcome(endpoints[user], model, method, args, kwargs)

    return two_companies.run(call, two_companies.cases(), ids, fields, uids)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_companies_same_answers_as_odoo_17(backend, odoo_reference, servers):
    """One user in each company reaching for the other's records: Odoo 17's answers over XML-RPC (fault 4 naming
    the user, the operation and the model; nothing found by searches)."""
    harness.require_postgres()
    if odoo_reference.fields is None:
        pytest.skip("the single-company corpus did not run (its fields describe the models)")
    odoo = odoo_reference.two_company_answers()
    bridge = servers.bridge(backend, users=two_companies.COMPANIES)
    try:
        endpoints = {login: differential.Endpoint(bridge, login, f"bridge {login}") for login in two_companies.COMPANIES}
        answers = run_two_companies(endpoints, two_companies.bridge_companies(endpoints), odoo_reference.fields)
    finally:
        bridge.stop()
    cases = two_companies.cases()
    differences = [(case, odoo[case["id"]], answers[case["id"]]) for case in cases
                   if not case.get("deviation") and not differential.same(odoo[case["id"]], answers[case["id"]])]
    differences += [(case, odoo[case["id"]], answers[case["id"]]) for case in cases
                    if case.get("deviation") and not DEVIATIONS[case["deviation"]][1](answers[case["id"]])]
    compared = [case for case in cases if not case.get("deviation")]
    matched = len(compared) - len([d for d in differences if not d[0].get("deviation")])
    lines = [f"two-company corpus against Odoo 17 over XML-RPC, bridge on {backend}: {len(cases)} calls, "
             f"{len(compared)} compared, {matched} same answer ({100.0 * matched / len(compared):.1f}%), "
             f"{len(differences)} differences (deliberate deviations not as documented included), "
             f"{len(cases) - len(compared)} deliberate deviations"]
    for case, expected, actual in differences:
        lines.append(f"- {case['id']} {case['user']} {case['model']}.{case['method']} args={case['args']!r} "
                     f"kwargs={case['kwargs']!r}"[:400])
        lines.append(f"    odoo:   {expected!r}"[:400])
        lines.append(f"    bridge: {actual!r}"[:400])
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"odoo-two-companies-{backend}.txt"
    path.write_text("\n".join(lines) + "\n")
    print(lines[0])
    assert not differences, f"{lines[0]}; details in {path}"
