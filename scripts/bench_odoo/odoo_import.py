# Run by scripts/bench_odoo_import.py inside `odoo-bin shell` (stdin), on a database with
# account_online_bridge installed; its settings come as JSON in $BENCH_ODOO_IMPORT. Prints one line
# "BENCH_RESULT {json}" per measure.
#
# ours:  the addon's import of one bank account of N posted transactions, exactly as the Fetch Transactions
#        button leaves it to the background job: the import is queued (here by "Create a journal", which
#        queues it as the button does), then jobs.run_jobs, the scheduled action's body, runs it through
#        the bridge client over XML-RPC (count, pages, mapping, deduplication, a transaction per page, the
#        statement, the opening balance), timed until its last transaction is committed. Checked: N lines,
#        the import done; then a second fetch adds nothing.
# floor: Odoo itself creating the same statement lines (the vals the addon maps from the same transactions,
#        for a bank account of their own on a journal of their own) in one create(vals_list), with the same
#        context (sudo, tracking disabled), flushed and committed; timed from the create to the commit.
import cProfile
import json
import os
import time
from contextlib import contextmanager

from odoo import SUPERUSER_ID, api
from odoo.addons.account_online_bridge import jobs
from odoo.addons.account_online_bridge.models import bank_bridge_mixin as mixin

config = json.loads(os.environ["BENCH_ODOO_IMPORT"])
registry = env.registry  # noqa: F821 (the shell's environment)


def in_transaction(work, uid=None):
    with registry.cursor() as cr:
        new_env = api.Environment(cr, uid or SUPERUSER_ID, {"tracking_disable": True})
        result = work(new_env)
        new_env.flush_all()
        return result


def admin_uid(env):
    return env.ref("base.user_admin").id


def setup(env):
    params = env["ir.config_parameter"].sudo()
    params.set_param(mixin.PARAM_URL, config["bridge_url"])
    params.set_param(mixin.PARAM_DATABASE, config["bridge_db"])
    params.set_param(mixin.PARAM_LOGIN, config["bridge_login"])
    params.set_param(mixin.PARAM_API_KEY, config["bridge_key"])
    Link = env["bank.bridge.link"].with_user(admin_uid(env))
    Link.action_sync_links_from_bridge()
    links = env["bank.bridge.link"].search([("bridge_id", "=", config["link_id"])])
    assert len(links) == 1 and links.state == "connected", (links, links.state)
    # Nothing watched: the job would otherwise follow the connection between imports.
    links.watch_until = False
    return links.id


link_id = in_transaction(setup)
cron_uid = in_transaction(lambda env: env.ref("account_online_bridge.ir_cron_bank_bridge_job").user_id.id)


ACCOUNT_NAMES = {spec["rows"]: spec["name"] for spec in config["accounts"]}


def bench_account(env, rows):
    accounts = env["bank.bridge.account"].search([("link_id", "=", link_id), ("name", "=", ACCOUNT_NAMES[rows])])
    assert len(accounts) == 1, accounts
    return accounts


def queue(env, rows):
    account = bench_account(env, rows).with_user(admin_uid(env))
    if not account.journal_id:
        account.action_create_journal()
    else:
        account._bank_bridge_queue_import()
    runs = account.sudo().import_ids.filtered(lambda run: run.state == "queued")
    assert len(runs) == 1, runs
    return runs.id


def import_state(env, run_id, rows):
    run = env["bank.bridge.import"].browse(run_id)
    lines = env["account.bank.statement.line"].search_count(
        [("journal_id", "=", run.journal_id.id), ("bank_bridge_transaction_identifier", "!=", False)]
    )
    return {"state": run.state, "done": run.done, "lines": lines, "error": run.error or ""}


@contextmanager
def profiled(name):
    """With --profile DIR: the measure under cProfile, its stats in DIR/NAME.pstats (slower; for finding where
    the time goes, not for the figures)."""
    if not config.get("profile_dir"):
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(config["profile_dir"], name + ".pstats"))


def ours(rows):
    run_id = in_transaction(lambda env: queue(env, rows))
    started = time.perf_counter()
    with profiled("ours-%d" % rows):
        jobs.run_jobs(registry, cron_uid, {}, budget=24 * 3600)
    seconds = time.perf_counter() - started
    state = in_transaction(lambda env: import_state(env, run_id, rows))
    assert (state["state"], state["done"], state["lines"]) == ("done", rows, rows), state
    # Fetch again: nothing new, nothing twice.
    again = in_transaction(lambda env: queue(env, rows))
    jobs.run_jobs(registry, cron_uid, {}, budget=24 * 3600)
    second = in_transaction(lambda env: import_state(env, again, rows))
    assert (second["state"], second["done"], second["lines"]) == ("done", 0, rows), second
    return seconds


def floor_vals(env, rows):
    """The addon's vals for the same transactions, for a bank account (Odoo side only) and journal of the floor."""
    account = bench_account(env, rows)
    client = env["bank.bridge.mixin"]._bank_bridge_client()
    transactions, after_id = [], 0
    while True:
        page = client.fetch_posted_transactions(account.bridge_id, after_id=after_id, limit=1000)
        if not page:
            break
        transactions += page
        after_id = max(tx["id"] for tx in page)
    assert len(transactions) == rows, len(transactions)
    journal = env["account.journal"].create(
        {"name": "Floor %d" % rows, "code": "FL%d" % len(str(rows)), "type": "bank",
         "currency_id": account.journal_id.currency_id.id or False}
    )
    floor_account = env["bank.bridge.account"].with_context(bank_bridge_no_push=True).create(
        {"name": "Floor %d" % rows, "bridge_id": 10**9 + rows, "link_id": link_id,
         "currency_code": account.currency_code, "journal_id": journal.id}
    )
    return floor_account._prepare_statement_line_vals(transactions)


def floor(rows):
    vals_list = in_transaction(lambda env: floor_vals(env, rows))
    assert len(vals_list) == rows

    def create(env):
        Line = env["account.bank.statement.line"].sudo().with_context(tracking_disable=True)
        started = time.perf_counter()
        with profiled("floor-%d" % rows):
            Line.create(vals_list)
            env.flush_all()
            env.cr.commit()
        return time.perf_counter() - started

    return in_transaction(create, uid=cron_uid)


for spec in config["accounts"]:
    rows = spec["rows"]
    ours_s = ours(rows)
    floor_s = floor(rows) if not config.get("no_floor") else None
    print("BENCH_RESULT " + json.dumps({"nominal": spec["nominal"], "rows": rows, "ours_s": ours_s, "floor_s": floor_s}),
          flush=True)
