// An accountant's first day with the bank feed, in a real Odoo Community (17.0, 18.0 or 19.0) as its default
// admin (no developer mode), driven in headless Chromium by clicks alone: after the login page, no URL is
// typed. Configure and test the bridge in Invoicing settings, open Invoicing > Bank > Bank Journals, Connect
// from the Bank journal's card, pick the sandbox bank, consent on the bank's page, come back to the
// connection, wait on it while the bank answers and the first import runs, try to connect the same bank
// again (refused: lead to the existing connection, delete the duplicate), create a journal for the second
// account, Fetch Accounts, Update Credentials, Fetch Transactions and wait for the import, then the journal
// cards, the transactions, Revoke Consent and Remove Connection; then once through Enable Banking (a bank of
// Finland: connect, Connected, a journal created and fed, Fetch Accounts, Fetch Transactions, Update
// Credentials, Revoke Consent, Remove, Delete).
// One screenshot per step in OUTDIR; prints a JSON summary (texts seen, checks, the time each step took).
//   node odoo_journey.mjs ODOO_URL BRIDGE_URL BRIDGE_LOGIN BRIDGE_KEY OUTDIR
// BANKBRIDGE_ODOO_TEST_COOKIES ("name=value;..."): cookies the browser sends to Odoo (19.0's test cookie).
import { launchChromium, printSummaryAndExit } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [odooUrl, bridgeUrl, bridgeLogin, bridgeKey, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node odoo_journey.mjs ODOO_URL BRIDGE_URL BRIDGE_LOGIN BRIDGE_KEY OUTDIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const STEP_TIMEOUT = 60000;
const IMPORT_TIMEOUT = 240000;

const browser = await launchChromium();
const summary = { steps: [], timings: {}, notifications: {}, texts: {}, urls: [], checks: {} };
let shot = 0;
let page;

async function snap(name) {
  shot += 1;
  const file = `${String(shot).padStart(2, "0")}-${name}.png`;
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${outDir}/${file}`, fullPage: true });
  summary.steps.push(file);
  summary.texts[name] = (await page.locator("body").innerText().catch(() => "")).slice(0, 6000);
}

// Waits until Odoo has no RPC in flight (the web client shows .o_loading_indicator meanwhile).
async function settled() {
  await page.waitForLoadState("load");
  await page.waitForFunction(() => !document.querySelector(".o_loading_indicator, .o_blockUI"), null, { timeout: STEP_TIMEOUT });
}

async function notification() {
  const note = page.locator(".o_notification").last();
  await note.waitFor({ timeout: STEP_TIMEOUT });
  return (await note.innerText()).trim();
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

// A menu of the navbar: the app (from the apps menu), then a section and its item.
async function openApp(xmlid) {
  await page.locator(".o_navbar_apps_menu button, .o_navbar_apps_menu .dropdown-toggle").first().click();
  await page.locator(`.o-dropdown--menu [data-menu-xmlid="${xmlid}"], .dropdown-menu [data-menu-xmlid="${xmlid}"]`).first().click();
  await settled();
}

// A menu item; `title`: what the page it opens is called (its breadcrumb, or its dialog's title), waited
// for so that nothing of the page before is taken for it.
async function menu(section, item, title) {
  await page.locator(`.o_menu_sections [data-menu-xmlid="${section}"]`).first().click();
  await page.locator(`.o-dropdown--menu [data-menu-xmlid="${item}"], .dropdown-menu [data-menu-xmlid="${item}"]`).first().click();
  await page.waitForFunction((title) => [...document.querySelectorAll(".o_control_panel .o_breadcrumb, .modal .modal-title")]
    .some((el) => el.innerText.trim().split("\n").pop().trim() === title), title, { timeout: STEP_TIMEOUT });
  await settled();
}

const headerButton = (name) => page.locator(`.o_form_statusbar button[name="${name}"]:visible`).first();
const field = (name) => page.locator(`.o_form_view .o_field_widget[name="${name}"]`).first();

async function confirmDialog() {
  const ok = page.locator(".modal-footer button.btn-primary").last();
  await ok.waitFor({ timeout: STEP_TIMEOUT });
  await ok.click();
}

// A header button that asks for confirmation and ends on a banner (Revoke Consent, Remove Connection):
// press, confirm, keep its notification as summary.notifications[note], and read the form once it has
// reloaded its record with `banner` shown (a slow machine reloads late).
async function confirmedPress(label, button, note, banner, shotName) {
  await timed(label, async () => { await headerButton(button).click(); await confirmDialog(); }, () => notification());
  summary.notifications[note] = await notification();
  await settled();
  await closeNotifications();
  await page.waitForSelector(`div[name="${banner}"]`, { state: "visible", timeout: STEP_TIMEOUT }).catch(() => {});
  const state = await formState();
  await snap(shotName);
  return state;
}

// The status bar as a person reads it: the states left to right, and the highlighted one.
async function statusBar() {
  const buttons = page.locator(".o_form_statusbar .o_field_statusbar .o_statusbar_status button.o_arrow_button:visible");
  const items = [];
  for (const button of await buttons.all()) {
    const box = await button.boundingBox();
    const text = (await button.innerText()).trim();
    if (box && text && text !== "...") items.push({ x: box.x, text, current: await button.evaluate((b) => b.classList.contains("o_arrow_button_current")) });
  }
  items.sort((a, b) => a.x - b.x);
  return { order: items.map((i) => i.text), current: items.filter((i) => i.current).map((i) => i.text) };
}

async function currentState() {
  return (await page.locator(".o_form_statusbar .o_statusbar_status .o_arrow_button_current").first().innerText()).trim();
}

// Waits on the form, without clicking, until the background job is done: no live banner, state `state`.
async function waitOnForm(label, state, { sawProgress } = {}) {
  const start = Date.now();
  const seen = new Set();
  let progressShown = !sawProgress;
  for (;;) {
    const live = page.locator('div.alert[name="live_status"]:visible');
    if (await live.count()) {
      const text = (await live.innerText().catch(() => "")).trim();
      if (text) seen.add(text);
      if (!progressShown && /Importing.* [1-9]\d* of \d+/.test(text)) {
        progressShown = true;
        await snap(sawProgress);
      }
    } else if ((await currentState().catch(() => "")) === state) {
      break;
    }
    if (Date.now() - start > IMPORT_TIMEOUT) throw new Error(`${label}: still waiting after ${IMPORT_TIMEOUT} ms (${[...seen].join(" | ")})`);
    await page.waitForTimeout(250);
  }
  summary.timings[label] = Date.now() - start;
  return [...seen];
}

// The wizard proposes the user's email; 19.0's admin has none without demo data: the accountant types one.
async function fillEmailIfEmpty() {
  const email = page.locator('.modal .o_field_widget[name="email"] input');
  if (!(await email.inputValue())) await email.fill("accountant@example.com");
}

async function consentAtBank(prefix, login) {
  await page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT });
  await snap(`${prefix}-bank-page`);
  if (await page.locator('input[name="login"]').count()) {
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', "secret");
  }
  await page.check('input[name="consent"]');
  await snap(`${prefix}-bank-consent-given`);
  await page.click('button[type="submit"]');
}

async function backOnConnection(label) {
  await page.waitForSelector(".o_form_view .o_form_statusbar", { timeout: STEP_TIMEOUT });
  await settled();
  summary.urls.push(page.url());
  return label;
}

// A connection's raw field values, as the web client reads them (19.0 shows times without seconds).
async function readConnection(url, fields) {
  const id = Number(url.match(/(?:[?#&]id=|bank\.bridge\.link\/)(\d+)/)[1]);
  return page.evaluate(async ([id, fields]) => {
    const response = await fetch("/web/dataset/call_kw/bank.bridge.link/read", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: { model: "bank.bridge.link", method: "read", args: [[id], fields], kwargs: {} } }),
    });
    return (await response.json()).result[0];
  }, [id, fields]);
}

// Waits until the connection's "Last synchronization" is no longer `before`: the bank has been read again.
async function waitForRefreshAfter(url, before, label) {
  const start = Date.now();
  while ((await readConnection(url, ["last_refresh"])).last_refresh === before) {
    if (Date.now() - start > IMPORT_TIMEOUT) throw new Error(`${label}: the bank was not read again within ${IMPORT_TIMEOUT} ms`);
    await page.waitForTimeout(500);
  }
}

async function connectionRows() {
  return page.locator('.o_field_widget[name="account_ids"] .o_data_row');
}

async function journey() {
  // 0. The login page: the only address typed.
  await page.goto(`${odooUrl}/web/login`);
  await page.fill('input[name="login"]', "admin");
  await page.fill('input[name="password"]', "admin");
  await Promise.all([page.waitForURL(/\/(web|odoo)/), page.click('button[type="submit"]')]);
  await settled();

  // 1. Invoicing > Configuration > Settings: the bridge block, Test connection on unsaved values, Save.
  await openApp("account.menu_finance");
  summary.checks.dashboardMenu = await page.locator('.o_menu_sections [data-menu-xmlid="account.menu_board_journal_1"]').count();
  await menu("account.menu_finance_configuration", "account.menu_account_config", "Settings");
  await page.waitForSelector('.o_field_widget[name="bank_bridge_url"] input');
  await settled();
  await page.locator('.o_field_widget[name="bank_bridge_url"] input').fill(bridgeUrl);
  await page.locator('.o_field_widget[name="bank_bridge_database"] input').fill("bankbridge");
  await page.locator('.o_field_widget[name="bank_bridge_login"] input').fill(bridgeLogin);
  await page.locator('.o_field_widget[name="bank_bridge_api_key"] input').fill(bridgeKey);
  await page.locator('button[name="action_bank_bridge_test_connection"]').scrollIntoViewIfNeeded();
  await snap("settings-filled-in");
  await timed("Test connection", () => page.click('button[name="action_bank_bridge_test_connection"]'), () => notification());
  summary.notifications.testConnection = await notification();
  await snap("settings-test-connection");
  await closeNotifications();
  await timed("Save settings (tests them)", () => page.click(".o_control_panel .o_form_button_save, .o_form_button_save"),
    () => page.waitForSelector(".o_notification", { timeout: STEP_TIMEOUT }));
  summary.notifications.save = await notification();
  await settled();
  await snap("settings-saved-and-tested");
  await closeNotifications();

  // 2. Invoicing > Bank > Bank Journals: the journal cards (and Odoo's onboarding) without developer mode.
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_journals", "Bank Journals");
  await page.waitForSelector(".o_kanban_record button[name='action_configure_bank_journal']");
  await snap("bank-journals");
  // Odoo's onboarding "Add a bank account" opens the wizard (it crashed without views).
  const onboarding = page.locator(".o_onboarding_container button, .o_onboarding_step_action, .o_onboarding button", { hasText: /Add a bank account/i }).first();
  summary.checks.onboardingButton = await onboarding.count();
  if (summary.checks.onboardingButton) {
    await timed("Onboarding: Add a bank account -> wizard", () => onboarding.click(),
      () => page.waitForSelector(".modal .o_data_row", { timeout: STEP_TIMEOUT }));
    summary.checks.onboardingWizard = (await page.locator(".modal-title").last().innerText()).trim();
    await snap("onboarding-add-a-bank-account");
    await page.locator(".modal-footer button", { hasText: "Cancel" }).last().click();
    await settled();
  }
  const bankCard = page.locator(".o_kanban_record", { has: page.locator('button[name="action_configure_bank_journal"]') }).first();
  summary.bankCardText = (await bankCard.innerText()).trim();
  await timed("Connect (journal card) -> wizard with banks", () => bankCard.locator('button[name="action_configure_bank_journal"]').click(),
    () => page.waitForSelector(".modal .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  summary.wizardText = (await page.locator(".modal-content").last().innerText()).trim();
  await snap("wizard-banks");
  const row = page.locator(".modal .o_data_row", { hasText: "Fake Bank Simple" }).first();
  await row.locator('button[name="action_select"]').first().click();
  await page.waitForSelector('.modal button[name="action_connect"]');
  await settled();
  summary.checks.selectedRowBold = await page.locator(".modal .o_data_row.fw-bold, .modal .o_data_row .fw-bold", { hasText: "Fake Bank Simple" }).count();
  await fillEmailIfEmpty();
  await snap("wizard-bank-selected");
  const resultCount = page.locator(".modal .o_bank_bridge_result_count");
  const searchButton = page.locator('.modal button[name="action_search"]');
  summary.checks.resultCountBelowSearch = (await resultCount.boundingBox()).y > (await searchButton.boundingBox()).y + 20;
  summary.checks.resultCountLeftOfList = Math.abs((await resultCount.boundingBox()).x - (await page.locator(".modal .o_list_renderer").boundingBox()).x) < 40;
  await timed("Connect (wizard) -> bank's consent page", () => page.click('.modal button[name="action_connect"]'),
    () => page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT }));

  // 3. The bank's page (the bridge's sandbox), consent, back on the connection; the form waits, without a
  //    click, while the bank answers and the first import runs in the background.
  const consentSubmitted = Date.now();
  await consentAtBank("connect", "odoo-journey");
  await backOnConnection("connect");
  summary.connectionUrl = page.url();
  await snap("connection-back-from-the-bank");
  summary.liveAfterConnect = await waitOnForm("consent -> connected and first import done", "Connected", { sawProgress: "connection-first-import-running" });
  summary.timings["consent -> connected, first import done"] = Date.now() - consentSubmitted;
  await settled();
  summary.statusBar = await statusBar();
  summary.connectionText = (await page.locator(".o_form_view").innerText()).trim();
  summary.lastRefreshAfterConnect = (await readConnection(summary.connectionUrl, ["last_refresh"])).last_refresh;
  await snap("connection-connected-first-import-done");

  // 4. The same bank again: the bank refuses the duplicate; the new connection leads to the existing one,
  //    and is deleted.
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_add_account_bank", "Add a Bank Account");
  await page.waitForSelector(".modal .o_data_row");
  await page.locator(".modal .o_data_row", { hasText: "Fake Bank Simple" }).first().locator('button[name="action_select"]').first().click();
  await page.waitForSelector('.modal button[name="action_connect"]');
  await settled();
  await fillEmailIfEmpty();
  await page.click('.modal button[name="action_connect"]');
  await consentAtBank("duplicate", "odoo-journey");
  // The bank's page says why and goes back to Odoo by itself (a button too).
  await page.waitForSelector("#return, .o_form_view .o_form_statusbar", { timeout: STEP_TIMEOUT });
  if (!(await page.locator(".o_form_view").count())) {
    summary.duplicateBankPage = (await page.locator("body").innerText()).trim();
    await snap("duplicate-refused-at-the-bank");
  }
  summary.duplicateReturnedByItself = await page.waitForSelector(".o_form_view .o_form_statusbar", { timeout: 15000 })
    .then(() => true, () => false);
  if (!summary.duplicateReturnedByItself) await page.click("#return");
  await backOnConnection("duplicate");
  await page.waitForSelector('div[name="banner_failed_first"]:visible', { timeout: IMPORT_TIMEOUT });
  await settled();
  summary.duplicateText = (await page.locator(".o_form_view").innerText()).trim();
  summary.checks.duplicateUpdateCredentialsHeader = await headerButton("action_update_credentials").count();
  await snap("duplicate-connection");
  const duplicateUrl = page.url();
  await timed("Open the existing connection", () => page.click('div[name="banner_failed_first"] button[name="action_open_sibling"]'),
    () => page.waitForFunction((url) => window.location.href !== url, duplicateUrl, { timeout: STEP_TIMEOUT }));
  await settled();
  summary.existingName = (await field("name").innerText()).trim();
  summary.existingUrl = page.url();
  await snap("duplicate-leads-to-the-existing-connection");
  await page.locator(".o_breadcrumb a, .breadcrumb-item a").last().click();
  await settled();
  await timed("Delete the duplicate", async () => { await headerButton("action_delete_connection").click(); await confirmDialog(); },
    () => page.waitForSelector(".o_list_view .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  await page.waitForSelector(".o_list_view .o_data_row");
  summary.connectionsAfterDelete = (await page.locator(".o_list_view .o_data_row").allInnerTexts()).map((t) => t.trim());
  await snap("connections-after-deleting-the-duplicate");

  // 5. Open the remaining connection from the list; Create a journal for its second account: the form
  //    stays on this connection (no unsaved "New connection").
  await page.locator(".o_list_view .o_data_row", { hasText: "Fake Bank Simple" }).first().locator("td.o_data_cell").first().click();
  await page.waitForSelector('.o_field_widget[name="account_ids"] .o_data_row');
  await settled();
  const urlBeforeJournal = page.url();
  const unfed = page.locator('.o_field_widget[name="account_ids"] .o_data_row', { has: page.locator('button[name="action_create_journal"]') }).first();
  summary.unfedAccountText = (await unfed.innerText()).trim();
  await timed("Create a journal", () => unfed.locator('button[name="action_create_journal"]').click(), () => notification());
  summary.notifications.createJournal = await notification();
  await settled();
  await closeNotifications();
  // The form has reloaded its record (the account shows its new journal) before it is read.
  await page.waitForFunction(() => !document.querySelector('.o_field_widget[name="account_ids"] button[name="action_create_journal"]'),
    null, { timeout: STEP_TIMEOUT }).catch(() => {});
  summary.afterCreateJournal = {
    name: (await field("name").innerText()).trim(),
    dirty: await page.locator(".o_form_status_indicator .o_form_button_save:visible").count(),
    url: page.url(),
    urlBefore: urlBeforeJournal,
    consentBanner: await page.locator('div[name="banner_consent_pending"]:visible').count(),
  };
  summary.liveAfterJournal = await waitOnForm("Create a journal -> its first import done", "Connected");
  await snap("connection-journal-created-and-imported");

  // 6. Fetch Accounts says what the bank shares.
  await timed("Fetch Accounts", () => headerButton("action_fetch_accounts").click(), () => notification());
  summary.notifications.fetchAccounts = await notification();
  await settled();
  await snap("connection-after-fetch-accounts");
  await closeNotifications();

  // 7. Update Credentials: the bank's reconnect page, then back, connected, "Last synchronization" moved.
  await timed("Update Credentials -> bank's page", () => headerButton("action_update_credentials").click(),
    () => page.waitForSelector('input[name="consent"]', { timeout: STEP_TIMEOUT }));
  await consentAtBank("update-credentials", "odoo-journey");
  await backOnConnection("update-credentials");
  await waitOnForm("Update Credentials -> connected", "Connected");
  await settled();
  summary.lastRefreshAfterUpdate = (await readConnection(summary.connectionUrl, ["last_refresh"])).last_refresh;
  await snap("connection-after-update-credentials");

  // 8. Fetch Transactions: the form waits while the bank sends them and Odoo imports them.
  await timed("Fetch Transactions (click)", () => headerButton("action_fetch_transactions").click(), () => notification());
  summary.notifications.fetchTransactions = await notification();
  await closeNotifications();
  summary.liveAfterFetch = await waitOnForm("Fetch Transactions -> imported", "Connected", { sawProgress: "connection-fetch-transactions-importing" });
  await settled();
  summary.accountsText = (await page.locator('.o_field_widget[name="account_ids"]').innerText()).trim();
  await snap("connection-transactions-imported");

  // 9. The journal cards: the connection, its state, the bank's balance next to Odoo's, the transactions.
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_journals", "Bank Journals");
  await page.waitForSelector(".o_kanban_record .o_bank_bridge_card");
  await settled();
  summary.cards = [];
  for (const card of await page.locator(".o_kanban_record", { has: page.locator(".o_bank_bridge_card") }).all()) {
    const link = card.locator(".o_bank_bridge_connection");
    summary.cards.push({
      text: (await card.innerText()).trim(),
      linkCut: await link.evaluate((el) => el.scrollWidth > el.clientWidth + 1 || getComputedStyle(el).textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth),
      linkText: (await link.innerText()).trim(),
    });
  }
  await snap("bank-journals-fed");
  const firstCard = page.locator(".o_kanban_record", { has: page.locator(".o_bank_bridge_card") }).first();
  await timed("Transactions (card)", () => firstCard.locator('a[name="action_bank_bridge_open_statement_lines"]').click(),
    () => page.waitForSelector(".o_list_view .o_data_row", { timeout: STEP_TIMEOUT }));
  await settled();
  summary.transactionRows = await page.locator(".o_list_view .o_data_row").count();
  summary.transactionsText = (await page.locator(".o_list_view").innerText()).trim().slice(0, 3000);
  await snap("journal-transactions");
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_statement_lines", "Bank Transactions");
  await page.waitForSelector(".o_list_view .o_data_row");
  await snap("bank-transactions-menu");

  // 10. Revoke Consent, then Remove Connection: banners and buttons follow the state.
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_links", "Bank Connections");
  await page.waitForSelector(".o_list_view .o_data_row");
  await page.locator(".o_list_view .o_data_row", { hasText: "Fake Bank Simple" }).first().locator("td.o_data_cell").first().click();
  await page.waitForSelector(".o_form_view .o_form_statusbar");
  await settled();
  summary.afterRevoke = await confirmedPress("Revoke Consent", "action_revoke_consent", "revoke", "banner_revoked", "connection-consent-revoked");
  summary.afterRemove = await confirmedPress("Remove Connection", "action_remove_connection", "remove", "banner_removed", "connection-removed");

  // 11. Once through Enable Banking: Add a Bank Account lists its banks with the aggregator named; the
  //     bank's page (user name and password, Approve) sends the browser back through the bridge to the
  //     connection, Connected without a click; every button of the connection once; Remove Connection, then
  //     Delete it (the bridge deletes it too).
  await menu("account_online_bridge.menu_bank_bridge_root", "account_online_bridge.menu_bank_bridge_add_account_bank", "Add a Bank Account");
  await page.waitForSelector(".modal .o_data_row");
  await page.locator('.modal .o_field_widget[name="country_code"] input').fill("FI");
  await page.locator('.modal .o_field_widget[name="search_name"] input').fill("");
  // The list is replaced by the search's result (its rows are new records): wait until it shows only
  // Finland's banks before selecting one.
  await timed("Enable Banking: search the banks of Finland", () => page.click('.modal button[name="action_search"]'),
    () => page.waitForFunction(() => {
      const countries = [...document.querySelectorAll('.modal .o_data_row td[name="country_code"]')].map((td) => td.innerText.trim());
      return countries.length > 0 && countries.every((country) => country === "FI");
    }, null, { timeout: STEP_TIMEOUT }));
  await settled();
  const ebRow = page.locator(".modal .o_data_row", { hasText: "Mock Bank" }).first();
  summary.enableBanking = { wizardRow: (await ebRow.innerText()).trim() };
  summary.enableBanking.providerCell = (await ebRow.locator('td[name="provider"]').innerText().catch(() => "")).trim();
  await ebRow.locator('button[name="action_select"]').first().click();
  await page.waitForSelector('.modal button[name="action_connect"]');
  await settled();
  await fillEmailIfEmpty();
  await snap("enablebanking-wizard-bank-selected");
  await timed("Enable Banking: Connect (wizard) -> bank's page", () => page.click('.modal button[name="action_connect"]'),
    () => page.waitForSelector('input[name="username"]', { timeout: STEP_TIMEOUT }));
  await snap("enablebanking-bank-page");
  await page.fill('input[name="username"]', "odoo-journey");
  await page.fill('input[name="password"]', "secret");
  await snap("enablebanking-at-the-bank-filled-in");
  const approved = Date.now();
  await page.click('button[name="action"][value="approve"]');
  await backOnConnection("enablebanking");
  summary.enableBanking.connectionUrl = page.url();
  summary.enableBanking.live = await waitOnForm("Enable Banking: approve -> connected", "Connected");
  summary.timings["Enable Banking: approve -> connected"] = Date.now() - approved;
  await settled();
  await page.waitForSelector('.o_field_widget[name="account_ids"] .o_data_row', { timeout: STEP_TIMEOUT });
  summary.enableBanking.connected = await formState();
  summary.enableBanking.accounts = (await page.locator('.o_field_widget[name="account_ids"] .o_data_row').allInnerTexts()).map((t) => t.trim());
  await snap("enablebanking-connection-connected");
  // Create a journal for the first account: the background job imports its transactions, the form shows
  // them without a click, the journal at the bank's balance.
  const ebUnfed = page.locator('.o_field_widget[name="account_ids"] .o_data_row', { has: page.locator('button[name="action_create_journal"]') }).first();
  await timed("Enable Banking: Create a journal", () => ebUnfed.locator('button[name="action_create_journal"]').click(), () => notification());
  summary.notifications.enableBankingCreateJournal = await notification();
  await settled();
  await closeNotifications();
  summary.enableBanking.liveAfterJournal = await waitOnForm("Enable Banking: Create a journal -> imported", "Connected");
  await page.waitForFunction(() => [...document.querySelectorAll('.o_field_widget[name="account_ids"] .o_data_row td[name="statement_line_count"]')]
    .some((td) => Number(td.innerText.replace(/[^0-9]/g, "")) > 0), null, { timeout: IMPORT_TIMEOUT });
  await settled();
  summary.enableBanking.fedAccounts = await fedAccountRows();
  await snap("enablebanking-journal-created-and-imported");
  // Fetch Accounts, then Fetch Transactions: a second read of the bank imports nothing twice (the journal's
  // line count stays; the bank has booked nothing new).
  await timed("Enable Banking: Fetch Accounts", () => headerButton("action_fetch_accounts").click(), () => notification());
  summary.notifications.enableBankingFetchAccounts = await notification();
  await settled();
  await closeNotifications();
  const refreshBeforeFetch = (await readConnection(summary.enableBanking.connectionUrl, ["last_refresh"])).last_refresh;
  await timed("Enable Banking: Fetch Transactions (click)", () => headerButton("action_fetch_transactions").click(), () => notification());
  summary.notifications.enableBankingFetchTransactions = await notification();
  await closeNotifications();
  // The bank has read again once "Last synchronization" moves; then the form waits out the import.
  await waitForRefreshAfter(summary.enableBanking.connectionUrl, refreshBeforeFetch, "Enable Banking: Fetch Transactions");
  summary.enableBanking.liveAfterFetch = await waitOnForm("Enable Banking: Fetch Transactions -> imported", "Connected");
  await settled();
  summary.enableBanking.fedAfterFetch = await fedAccountRows();
  await snap("enablebanking-transactions-fetched-again");
  // Update Credentials: the bank's page again, approve, back on the connection, Connected.
  await timed("Enable Banking: Update Credentials -> bank's page", () => headerButton("action_update_credentials").click(),
    () => page.waitForSelector('input[name="username"]', { timeout: STEP_TIMEOUT }));
  await page.fill('input[name="username"]', "odoo-journey");
  await page.fill('input[name="password"]', "secret");
  await page.click('button[name="action"][value="approve"]');
  await backOnConnection("enablebanking-update-credentials");
  summary.enableBanking.urlAfterUpdate = page.url();
  await waitOnForm("Enable Banking: Update Credentials -> connected", "Connected");
  await settled();
  summary.enableBanking.afterUpdate = await formState();
  summary.enableBanking.fedAfterUpdate = await fedAccountRows();
  await snap("enablebanking-after-update-credentials");
  // Revoke Consent: the session ends at the bank; the banners and buttons follow.
  summary.enableBanking.revoked = await confirmedPress("Enable Banking: Revoke Consent", "action_revoke_consent", "enableBankingRevoke",
    "banner_revoked", "enablebanking-consent-revoked");
  summary.enableBanking.removed = await confirmedPress("Enable Banking: Remove Connection", "action_remove_connection", "enableBankingRemove",
    "banner_removed", "enablebanking-connection-removed");
  await timed("Enable Banking: Delete Connection", async () => { await headerButton("action_delete_connection").click(); await confirmDialog(); },
    () => page.waitForFunction(() => !document.querySelector(".o_form_view") && document.querySelector(".o_list_view"), null, { timeout: STEP_TIMEOUT }));
  await settled();
  // The list loads its rows after it shows (a slow machine): wait for them, or for its empty page.
  await page.waitForSelector(".o_list_view .o_data_row, .o_view_nocontent", { timeout: STEP_TIMEOUT }).catch(() => {});
  summary.enableBanking.listAfterDelete = (await page.locator(".o_list_view .o_data_row").allInnerTexts()).map((t) => t.trim());
  await snap("enablebanking-connections-after-delete");
}

// The connection's accounts that feed a journal, cell by cell as the list shows them.
async function fedAccountRows() {
  return page.evaluate(() => [...document.querySelectorAll('.o_field_widget[name="account_ids"] .o_data_row')]
    .map((row) => Object.fromEntries(["name", "journal_id", "balance", "journal_balance", "statement_line_count"]
      .map((name) => [name, (row.querySelector(`td[name="${name}"]`) || { innerText: "" }).innerText.trim()])))
    .filter((row) => row.journal_id));
}

async function formState() {
  const visible = async (selector) => page.locator(`${selector}:visible`).count();
  return {
    state: await currentState(),
    banners: {
      removed: await visible('div[name="banner_removed"]'),
      revoked: await visible('div[name="banner_revoked"]'),
      error: await visible('div[name="banner_error"]'),
      live: await visible('div.alert[name="live_status"]'),
      unfed: await visible('div[name="unfed_accounts"]'),
    },
    buttons: {
      revoke: await visible('.o_form_statusbar button[name="action_revoke_consent"]'),
      remove: await visible('.o_form_statusbar button[name="action_remove_connection"]'),
      delete: await visible('.o_form_statusbar button[name="action_delete_connection"]'),
      fetch: await visible('.o_form_statusbar button[name="action_fetch_transactions"]'),
    },
    consentExpiry: await visible('.o_field_widget[name="expiring_synchronization_date"]'),
    text: (await page.locator(".o_form_view").innerText()).trim(),
  };
}

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  // 19.0's test server answers only requests carrying the test's cookie ("name=value").
  const host = new URL(odooUrl).hostname;
  for (const pair of (process.env.BANKBRIDGE_ODOO_TEST_COOKIES || "").split(";").filter(Boolean)) {
    const [name, value] = pair.split("=");
    await context.addCookies([{ name, value, domain: host, path: "/" }]);
  }
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (error) => { (summary.pageErrors ||= []).push(String(error)); });
  await journey();
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
printSummaryAndExit(summary, summary.error ? 1 : 0);
