// Opens the bank page a bridge returned from action_new_synchronization for an Enable Banking institution
// (the built-in sandbox's bank) in headless Chromium, first submits a wrong password (must be refused
// visibly), then logs in and approves, and lands on the bridge's return page. Writes a screenshot of each
// step to OUTDIR and prints a JSON summary on stdout.
//   node enablebanking_flow.mjs BANK_URL OUTDIR
import { launchChromium, printSummaryAndExit } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [bankUrl, outDir] = process.argv.slice(2);
if (!bankUrl || !outDir) {
  console.error("usage: node enablebanking_flow.mjs BANK_URL OUTDIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await launchChromium();
const summary = {};
try {
  const page = await browser.newPage();
  await page.goto(bankUrl);
  summary.title = await page.title();
  summary.asks = await page.locator("body").innerText();
  await page.screenshot({ path: `${outDir}/01-bank-page.png`, fullPage: true });

  await page.fill('input[name="username"]', "browser");
  await page.fill('input[name="password"]', "wrong");
  await Promise.all([page.waitForLoadState("load"), page.click('button[value="approve"]')]);
  summary.refusedText = await page.locator("body").innerText();
  await page.screenshot({ path: `${outDir}/02-wrong-password.png`, fullPage: true });

  await page.fill('input[name="username"]', "browser");
  await page.fill('input[name="password"]', "secret");
  await page.screenshot({ path: `${outDir}/03-filled-in.png`, fullPage: true });
  await Promise.all([page.waitForURL(/\/enablebanking\/return/), page.click('button[value="approve"]')]);
  summary.finalUrl = page.url();
  summary.result = await page.locator("#result").innerText();
  summary.accounts = await page.locator("#accounts li").allInnerTexts();
  await page.screenshot({ path: `${outDir}/04-returned.png`, fullPage: true });
} finally {
  await browser.close();
}
printSummaryAndExit(summary, 0);
