// The Odoo user's journey in a real Odoo 17 Community, as its default admin (no developer mode), driven in
// headless Chromium: configure and test the bridge in Invoicing settings, Connect from the bank journal's
// dashboard card, pick the sandbox bank, consent on the bank's page, come back to Odoo on the connection,
// create a journal in the accounts' currency, Fetch Accounts, Update Credentials, Fetch Transactions, then
// find the imported lines from the dashboard card. One screenshot per step in OUTDIR; prints a JSON summary
// (texts seen and the time each button took) on stdout.
// PHASE "connect" goes up to Fetch Transactions (which queues the import in the background); PHASE
// "imported" (after the background job ran) opens the connection from the dashboard card and the lines.
//   node odoo_journey.mjs ODOO_URL SESSION_ID BRIDGE_URL BRIDGE_LOGIN BRIDGE_KEY OUTDIR PHASE
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [odooUrl, sessionId, bridgeUrl, bridgeLogin, bridgeKey, outDir, phase] = process.argv.slice(2);
if (!["connect", "imported"].includes(phase)) {
  console.error("usage: node odoo_journey.mjs ODOO_URL SESSION_ID BRIDGE_URL BRIDGE_LOGIN BRIDGE_KEY OUTDIR connect|imported");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const STEP_TIMEOUT = 60000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const summary = { steps: [], timings: {}, notifications: {} };
let shot = phase === "connect" ? 0 : 15;
let page;

async function snap(name) {
  shot += 1;
  const file = `${String(shot).padStart(2, "0")}-${name}.png`;
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${outDir}/${file}`, fullPage: true });
  summary.steps.push(file);
}

// Waits until Odoo has no RPC in flight (the web client shows .o_loading_indicator meanwhile).
async function settled() {
  await page.waitForLoadState("load");
  await page.waitForFunction(() => !document.querySelector(".o_loading_indicator, .o_blockUI"), null, { timeout: STEP_TIMEOUT });
}

async function lastNotification() {
  const note = page.locator(".o_notification").last();
  await note.waitFor({ timeout: STEP_TIMEOUT });
  const text = (await note.innerText()).trim();
  return text;
}

async function closeNotifications() {
  for (const button of await page.locator(".o_notification .o_notification_close").all()) {
    await button.click().catch(() => {});
  }
  await page.waitForFunction(() => !document.querySelector(".o_notification"), null, { timeout: 10000 }).catch(() => {});
}

// Clicks and measures until `done` resolves (a notification, a navigation, a selector).
async function timed(label, click, done) {
  const start = Date.now();
  await Promise.all([done(), click()]);
  summary.timings[label] = Date.now() - start;
}

async function headerButton(name) {
  return page.locator(`.o_form_statusbar button[name="${name}"]`).first();
}

async function consentAtBank(prefix, needsCredentials) {
  await page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT });
  summary[`${prefix}Title`] = await page.title();
  await snap(`${prefix}-bank-page`);
  if (needsCredentials) {
    await page.fill('input[name="login"]', "odoo-journey");
    await page.fill('input[name="password"]', "secret");
  }
  await page.check('input[name="consent"]');
  await snap(`${prefix}-bank-consent-given`);
  const consentSubmitted = Date.now();
  await timed(`${prefix} consent -> back on the Odoo connection`, () => page.click('button[type="submit"]'),
    () => page.waitForURL(/model=bank\.bridge\.link/, { timeout: STEP_TIMEOUT }));
  await settled();
  // Connecting at the bank may take a few seconds: the form reloads itself until it is connected.
  await page.locator(".o_statusbar_status .o_arrow_button_current", { hasText: /^Connected$/ }).waitFor({ timeout: STEP_TIMEOUT });
  summary.timings[`${prefix} consent -> connected on the Odoo connection`] = Date.now() - consentSubmitted;
}


async function connectPhase() {
  // 1. Invoicing > Configuration > Settings: the bridge block, Test connection on unsaved values, Save.
  await page.goto(`${odooUrl}/web#action=account.action_account_config`);
  await page.waitForSelector('.o_field_widget[name="bank_bridge_url"] input');
  await settled();
  summary.settingsUrl = page.url();
  await page.locator('.o_field_widget[name="bank_bridge_url"] input').fill(bridgeUrl);
  await page.locator('.o_field_widget[name="bank_bridge_database"] input').fill("bankbridge");
  await page.locator('.o_field_widget[name="bank_bridge_login"] input').fill(bridgeLogin);
  await page.locator('.o_field_widget[name="bank_bridge_api_key"] input').fill(bridgeKey);
  await page.locator('button[name="action_bank_bridge_test_connection"]').scrollIntoViewIfNeeded();
  await snap("settings-filled-in");
  await timed("Test connection", () => page.click('button[name="action_bank_bridge_test_connection"]'), () => lastNotification());
  summary.notifications.testConnection = await lastNotification();
  await snap("settings-test-connection");
  await closeNotifications();
  await timed("Save settings (tests them)", () => page.click(".o_control_panel .o_form_button_save, .o_form_button_save"),
    () => page.waitForSelector(".o_notification", { timeout: STEP_TIMEOUT }));
  summary.notifications.save = await lastNotification();
  await settled();
  await snap("settings-saved-and-tested");
  await closeNotifications();

  // 2. Invoicing dashboard: the bank journal card's Connect button opens this addon's wizard.
  await page.goto(`${odooUrl}/web#action=account.open_account_journal_dashboard_kanban`);
  await page.waitForSelector(".o_kanban_record");
  await settled();
  const bankCard = page.locator(".o_kanban_record", { has: page.locator('button[name="action_configure_bank_journal"]') }).first();
  summary.bankCardText = (await bankCard.innerText()).trim();
  await snap("dashboard-bank-card-connect");
  await timed("Connect (dashboard card) -> wizard with institutions", () => bankCard.locator('button[name="action_configure_bank_journal"]').click(),
    () => page.waitForSelector(".modal .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  summary.wizardText = (await page.locator(".modal-content").last().innerText()).trim();
  await snap("wizard-institutions");
  const row = page.locator(".modal .o_data_row", { hasText: "Fake Bank Simple" }).first();
  await row.locator('button[name="action_select"]').click();
  await page.waitForSelector('.modal button[name="action_connect"]');
  await settled();
  await snap("wizard-institution-selected");
  await timed("Connect (wizard) -> bank's consent page", () => page.click('.modal button[name="action_connect"]'),
    () => page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT }));

  // 3. The bank's page (the bridge's sandbox), consent, and back to Odoo on the connection.
  await consentAtBank("connect", true);
  await page.waitForSelector(".o_field_widget[name=account_ids] .o_data_row");
  summary.returnUrl = page.url();
  summary.stateAfterReturn = (await page.locator(".o_statusbar_status .o_arrow_button_current").innerText()).trim();
  summary.connectionText = (await page.locator(".o_form_view").innerText()).trim();
  await snap("connection-connected");

  // 4. The bank accounts are in EUR, the company's bank journal in USD: create a journal in EUR.
  const firstAccount = page.locator(".o_field_widget[name=account_ids] .o_data_row").first();
  summary.firstAccountText = (await firstAccount.innerText()).trim();
  await timed("Create a journal (account's currency)", () => firstAccount.locator('button[name="action_create_journal"]').click(),
    () => page.waitForSelector(".o_notification", { timeout: STEP_TIMEOUT }));
  summary.notifications.createJournal = await lastNotification();
  await settled();
  await snap("connection-journal-created");
  await closeNotifications();

  // 5. Fetch Accounts: just connected, the bank has no new account and allows no refresh yet.
  await timed("Fetch Accounts", async () => (await headerButton("action_fetch_accounts")).click(),
    () => page.waitForSelector(".o_notification", { timeout: STEP_TIMEOUT }));
  summary.notifications.fetchAccounts = await lastNotification();
  await settled();
  await snap("connection-after-fetch-accounts");
  await closeNotifications();

  // 6. Update Credentials: the bank's reconnect page, then back to Odoo.
  await timed("Update Credentials -> bank's reconnect page", async () => (await headerButton("action_update_credentials")).click(),
    () => page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT }));
  await consentAtBank("update-credentials", true);
  summary.stateAfterUpdate = (await page.locator(".o_statusbar_status .o_arrow_button_current").innerText()).trim();
  await snap("connection-after-update-credentials");

  // 7. Fetch Transactions: fetched from the bank; hundreds of lines are imported in the background and
  //    the connection shows the progress.
  await timed("Fetch Transactions (fetch, import queued)", async () => (await headerButton("action_fetch_transactions")).click(),
    () => page.waitForSelector(".o_notification", { timeout: STEP_TIMEOUT }));
  summary.notifications.fetchTransactions = await lastNotification();
  await settled();
  summary.progressText = (await page.locator('div.alert[name="import_progress"]').innerText().catch(() => "")).trim();
  await snap("connection-import-in-background");
  await closeNotifications();
}

async function importedPhase() {
  // 8. The dashboard card of the new journal, its connection, and its imported statement lines.
  const dashboard = async () => {
    await page.goto(`${odooUrl}/web#action=account.open_account_journal_dashboard_kanban`);
    await page.waitForSelector(".o_kanban_record .o_bank_bridge_card");
    await settled();
    return page.locator(".o_kanban_record", { has: page.locator(".o_bank_bridge_card") }).first();
  };
  let onlineCard = await dashboard();
  summary.onlineCardText = (await onlineCard.innerText()).trim();
  await snap("dashboard-online-card");
  await timed("Connection (card)", () => onlineCard.locator('a[name="action_bank_bridge_open_connection"]').click(),
    () => page.waitForSelector(".o_form_view .o_field_widget[name=account_ids] .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  summary.accountsAfterImport = (await page.locator(".o_field_widget[name=account_ids]").innerText()).trim();
  summary.progressAfterImport = await page.locator('div.alert[name="import_progress"]:visible').count();
  await snap("connection-transactions-imported");
  onlineCard = await dashboard();
  await timed("Imported statement lines (card)", () => onlineCard.locator('a[name="action_bank_bridge_open_statement_lines"]').click(),
    () => page.waitForSelector(".o_list_view .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  summary.statementLineRows = await page.locator(".o_list_view .o_data_row").count();
  summary.statementLinesText = (await page.locator(".o_list_view").innerText()).trim().slice(0, 2000);
  await snap("statement-lines");
}

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const host = new URL(odooUrl).hostname;
  await context.addCookies([{ name: "session_id", value: sessionId, domain: host, path: "/" }]);
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  if (phase === "connect") await connectPhase(); else await importedPhase();
} catch (error) {
  summary.error = String(error && error.stack || error);
  if (page) {
    summary.errorUrl = page.url();
    summary.errorPage = (await page.locator("body").innerText().catch(() => "")).slice(0, 3000);
    await page.screenshot({ path: `${outDir}/99-error.png`, fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
process.exit(summary.error ? 1 : 0);
