"""The one harness of the Python tests (tests/python), the differential test (tests/odoo_diff) and the
benchmarks (scripts/): every helper exists here once. Standard library only; `import harness` (tests/python is
on sys.path under pytest; scripts put it there themselves).

Starting things (harness/processes.py) — always through `Servers`, or the pytest fixtures built on it
-------------------------------------------------------------------------------------------------------
Fixtures (tests/python/conftest.py):
    backend            "sqlite" / "postgres": a module-scoped parameter (postgres skipped without
                       BANKBRIDGE_TEST_POSTGRES_URL, an error under CI)
    bridge             the shared bridge of a module and backend: alice (Acme, password "alice-password-1")
                       and bob (Globex)
    servers            a Servers for one test (stopped after it)
    module_servers     a Servers for one module
    backend_servers    a Servers for one module and backend (bridges default to that backend)
A bridge with special flags, a standalone sandbox, any other process:
    b = servers.bridge("postgres", users={"alice": "Acme"}, passwords={"alice": "pw"},
                       env={"BANKBRIDGE_SYNC_INTERVAL": "0"}, args=["--log-format", "json"])
    b.url  b.db  b.keys["alice"]  b.backend  b.database_url  b.env  b.proc  b.pid  b.alive
    b.cli("user", "revoke", "alice")          # a CLI command that must succeed: its stdout
    b.run_cli("sync", "--link", "3")           # any CLI command on its database: a CompletedProcess
    b.add_user(login, company, password)  b.stop()  b.start()  b.log_text()  b.assert_alive()
    b.execute_sql("DELETE FROM api_keys")      # straight into its database (either backend): rows changed
    b.query_sql("SELECT id FROM users")        # rows read straight from its database
    servers.bridge(database=b.database_url, keys=b.keys)   # a second process on the same database
    servers.bridge(users=..., start=False)     # created, users added, started later with .start()
    sb = servers.sandbox(env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": "60"})  # Salt Edge stand-in, no callbacks
    sb.url  sb.bridge_env(api_path, sync_interval)  sb.admin(path, body)  sb.faults(mode="slow", ...)
    servers.listener(name, args)               # a server printing `listening on http://ADDR`: .url
    servers.process(name, args, ready=callable)  # anything else, waited for with `ready`
Outside pytest (benchmarks, scripts): `with harness.Servers(workdir) as servers: ...`.
Every process logs to a file in its work directory (under pytest's --basetemp); a failed test shows the
end of the log of every process that ran during it. Also: Process, Bridge, Sandbox, ProcessError,
Postgres (a PostgreSQL server: the given one or a throwaway cluster; create_database / drop_database / stop),
new_database_url(backend, dir), postgres_admin_url(), require_postgres(), psql(url, sql),
execute_sql(database_url, sql), query_sql(database_url, sql), run_cli(*args, env=, cwd=, check=), binary(), REPO, wait_for(predicate,
timeout, what), free_port(), rss_kib(pid).

Calling (harness/calls.py)
--------------------------
    api = Api(bridge, "alice")                # xmlrpc.client execute_kw as that user (key=, allow_none=, uid=);
                                               # tests/odoo_diff's Endpoint extends it
    api("account.online.link", "search_read", [], fields=["name"]);  api.uid  api.key  api.models  api.common
    api.link(link_id, "state")                 # one account.online.link record
    fault_of(lambda: api(...))                 # the xmlrpc.client.Fault a call raises
    reply = post(url, body, content_type=, headers=)   # raw HTTP POST: Reply(status, headers, data), any status;
                                               # reply.json(); reply.ok(): the body, asserting a 200
    request(url, data=None, method=None, headers=)     # any other HTTP request, the same Reply
    json_request(url, body, key=, scheme="bearer", raw=, headers=, method=)  # JSON-2 style: JSON body, bearer key
    response_fault(reply.data)                 # the Fault an XML-RPC response carries
    jsonrpc(url, params, headers=)             # a JSON-RPC call: the decoded answer (HTTP 200 checked)
    jsonrpc_body(params, request_id)           # its body, for raw posts

The sync flow (harness/flows.py)
--------------------------------
    link, connect_url, final_url, page = connect(api, "me@acme.test")   # button + consent page, as a person
    settled(api, link)                         # waits until the attempt is over; the record
    wait_connected(api, link, timeout)         # waits until connected, failing fast on another end state
    counts(api, link)                          # (account ids, posted rows, pending rows)
    submit_connect(url, login=, consent=, sms_code=)  submit_connect_location(url)  get(url or Request, follow=)
    sandbox_admin(any_url_on_the_sandbox, "connections/ID/accounts", {...})   # sandbox test hooks
    sandbox_transaction_ids(url, connection, account, pending)  bridge_transaction_ids(api, account, status)
    assert_same_as_salt_edge(api, link, connect_url)
    post_callback(bridge, kind, body, signature)  sign(message, key_path)  sign_callback(url, body)  now_iso()
    human_time_in(message)                     # ` on 5 Mar 2026 at 14:00 UTC` in a message

Enable Banking's sandbox bank (harness/enablebanking.py: `from harness import enablebanking`)
------------------------------------------------------------------------------------------
    link, bank_url = enablebanking.start(api)  # Add a Bank Account at MOCK_BANK
    enablebanking.at_bank(bank_url, username=, action="approve"|"cancel", follow=)   # the bank's page
    enablebanking.link_bank(api, username=)    # both, end to end;  sandbox_state(bank_url)

A real browser (harness/browser.py: `from harness import browser`)
------------------------------------------------------------------
    summary = browser.run_journey("connect_flow.mjs", url, out_dir)   # a tests/browser script in headless
                                               # Chromium: its JSON summary (skipped without chromium/node)
    browser.assert_screenshots(out_dir, "01-connect-page.png", ...)

Real Odoo (harness/odoo.py)
---------------------------
    odoo = Odoo(postgres_url, workdir, addons=[dir], serie=17)   # 17, 18 or 19 (tests/odoo/env.sh)
    odoo.install("module")                     # in a process of its own, stopped after
    process = odoo.serve(workers=0, install=("module",)); process.url; Api(odoo, "admin"); odoo.stop()
"""

from .calls import Api, Reply, fault_of, json_request, jsonrpc, jsonrpc_body, post, request, response_fault
from .flows import (
    SANDBOX_PRIVATE_KEY,
    assert_same_as_salt_edge,
    bridge_transaction_ids,
    connect,
    counts,
    get,
    human_time_in,
    now_iso,
    post_callback,
    sandbox_admin,
    sandbox_root,
    sandbox_transaction_ids,
    settled,
    sign,
    sign_callback,
    submit_connect,
    submit_connect_location,
    wait_connected,
)
from .odoo import Odoo, odoo_dir
from .processes import (
    REPO,
    Bridge,
    Postgres,
    Process,
    ProcessError,
    Sandbox,
    Servers,
    binary,
    execute_sql,
    free_port,
    new_database_url,
    postgres_admin_url,
    psql,
    query_sql,
    require_postgres,
    rss_kib,
    run_cli,
    wait_for,
)
