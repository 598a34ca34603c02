# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The background job: follows the connections an explicit action waits
for, and runs the queued imports batch by batch.

Every step runs in its own short transaction (a new cursor of the
registry), committed at once so that the connection's form shows the
progress; calls to the bridge happen between transactions, never inside
one. A step that meets a concurrent update (a user clicking on the same
connection) is retried; an import that stopped half-way (worker killed,
bridge down) is resumed by the next run of the job, from its last batch."""
import logging
import random
import time

from psycopg2 import OperationalError, errorcodes

from odoo import api, fields
from odoo.exceptions import UserError

from . import bridge_client

_logger = logging.getLogger(__name__)

# Statement lines created per transaction: each batch is one create(vals_list). The system parameter
# account_online_bridge.import_batch overrides it.
IMPORT_BATCH = 250
PARAM_IMPORT_BATCH = "account_online_bridge.import_batch"
# How often the job asks the bridge about a connection it follows.
WATCH_POLL_SECONDS = 2.0
# One run of the job stops after this long; the next run (every minute) goes on.
JOB_BUDGET_SECONDS = 240
RETRIED_ERRORS = (errorcodes.SERIALIZATION_FAILURE, errorcodes.DEADLOCK_DETECTED, errorcodes.LOCK_NOT_AVAILABLE)
TRIES = 6


class Steps:
    """Runs functions of an environment, each in its own transaction."""

    def __init__(self, registry, uid, context):
        self.registry = registry
        self.uid = uid
        self.context = dict(context or {}, tracking_disable=True)

    def __call__(self, work):
        for attempt in range(1, TRIES + 1):
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, self.uid, self.context)
                    result = work(env)
                    # Flushed here, by this env: the cursor's commit flushes only the environments
                    # still alive, and nothing else holds this one.
                    env.flush_all()
                    return result
            except OperationalError as err:
                if err.pgcode not in RETRIED_ERRORS or attempt == TRIES:
                    raise
                pause = random.uniform(0.05, 0.25) * 2 ** attempt
                _logger.info("bank bridge job: %s, step tried again in %.2fs", err.pgcode, pause)
                time.sleep(pause)
        return None


def run_jobs(registry, uid, context, budget=JOB_BUDGET_SECONDS):
    """Follow watched connections and run ready imports until nothing is
    left to do or ``budget`` seconds have passed."""
    step = Steps(registry, uid, context)
    deadline = time.monotonic() + budget
    if not step(lambda env: env["bank.bridge.mixin"]._bank_bridge_configured()):
        return
    client = step(lambda env: env["bank.bridge.mixin"]._bank_bridge_client())
    batch = step(lambda env: int(env["ir.config_parameter"].sudo().get_param(PARAM_IMPORT_BATCH, 0) or 0))
    while True:
        watched = follow_links(step, client)
        for run_id in step(lambda env: env["bank.bridge.import"]._bank_bridge_ready_ids()):
            run_import(step, client, run_id, batch or IMPORT_BATCH)
            if time.monotonic() > deadline:
                return
        if not watched or time.monotonic() > deadline:
            return
        time.sleep(WATCH_POLL_SECONDS)


def follow_links(step, client):
    """Read the watched connections from the bridge and write what changed;
    returns how many are still watched."""

    def watched_ids(env):
        now = fields.Datetime.now()
        links = env["bank.bridge.link"].search([("watch_until", ">", now), ("bridge_id", "!=", 0)])
        return [(link.id, link.bridge_id) for link in links]

    still = 0
    for link_id, bridge_id in step(watched_ids):
        try:
            data = client.read_link(bridge_id)
            accounts = client.read_accounts(bridge_id) if data else []
        except bridge_client.BridgeError as err:
            _logger.warning("bank bridge job: reading connection %s failed: %s", bridge_id, err)
            still += 1
            continue

        def apply(env, link_id=link_id, data=data, accounts=accounts):
            link = env["bank.bridge.link"].browse(link_id).exists()
            if not link:
                return False
            started = link._bank_bridge_apply_remote(data, accounts)
            if started:
                started._bank_bridge_queue_import()
            return bool(link.watch_until)

        if step(apply):
            still += 1
    return still


def run_import(step, client, run_id, batch_size=None):
    """Run one import to its end, a batch per transaction."""
    batch_size = batch_size or IMPORT_BATCH

    def on(method, *args):
        return step(lambda env: getattr(env["bank.bridge.import"].browse(run_id), method)(*args))

    try:
        start = on("_bank_bridge_start")
        if not start:
            return
        account, after_id = start["account_bridge_id"], start["after_id"]
        if not start["counted"]:
            on("_bank_bridge_set_total", client.count_transactions(account, status="posted", after_id=after_id))
        while True:
            transactions = client.fetch_posted_transactions(account, after_id=after_id, limit=batch_size)
            if not transactions:
                # The bank's balance, then a check that nothing arrived since:
                # the balance then covers exactly what was imported.
                balance = (client.read_account(account) or {}).get("balance") or 0.0
                if client.fetch_posted_transactions(account, after_id=after_id, limit=1):
                    continue
                on("_bank_bridge_finish", balance)
                return
            started = time.monotonic()
            after_id = on("_bank_bridge_import_batch", transactions)
            _logger.info(
                "bank bridge job: import %s: batch of %d transaction(s) in %.2fs",
                run_id, len(transactions), time.monotonic() - started,
            )
            if after_id is None:
                return
    except bridge_client.BridgeUnavailable as err:
        # The bridge is down: the import stays running, the next run of the job resumes it.
        _logger.warning("bank bridge job: import %s waits for the bridge: %s", run_id, err)
        on("_bank_bridge_note", str(err))
    except (bridge_client.BridgeError, UserError) as err:
        message = str(err.args[0] if isinstance(err, UserError) else err)
        _logger.warning("bank bridge job: import %s stopped: %s", run_id, message)
        on("_bank_bridge_fail", message)
    except OperationalError as err:
        # Still meeting concurrent updates after every try: the next run of the job resumes it.
        _logger.warning("bank bridge job: import %s paused (%s)", run_id, err.pgcode)
    except Exception as err:  # pylint: disable=broad-except
        _logger.exception("bank bridge job: import %s failed", run_id)
        on("_bank_bridge_fail", str(err) or err.__class__.__name__)
