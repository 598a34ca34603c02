// Opens the connect URL a bridge returned from action_new_synchronization in headless Chromium, first
// submits without consent (must be refused visibly), then fills the credentials, ticks consent, submits
// and lands on the bridge's return page. Writes a screenshot of each step to OUTDIR and prints a JSON
// summary on stdout.
//   node connect_flow.mjs CONNECT_URL OUTDIR
import { launchChromium, printSummaryAndExit } from "./chromium.mjs";
import { mkdirSync } from "node:fs";

const [connectUrl, outDir] = process.argv.slice(2);
if (!connectUrl || !outDir) {
  console.error("usage: node connect_flow.mjs CONNECT_URL OUTDIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await launchChromium();
const summary = {};
try {
  const page = await browser.newPage();
  await page.goto(connectUrl);
  summary.title = await page.title();
  await page.screenshot({ path: `${outDir}/01-connect-page.png`, fullPage: true });

  await page.fill('input[name="login"]', "username");
  await page.fill('input[name="password"]', "secret");
  await Promise.all([page.waitForLoadState("load"), page.click('button[type="submit"], input[type="submit"]')]);
  summary.refusedText = await page.locator("body").innerText();
  await page.screenshot({ path: `${outDir}/02-consent-missing.png`, fullPage: true });

  await page.fill('input[name="login"]', "username");
  await page.fill('input[name="password"]', "secret");
  await page.check('input[name="consent"]');
  await page.screenshot({ path: `${outDir}/03-filled-in.png`, fullPage: true });
  await Promise.all([page.waitForURL(/\/saltedge\/return/), page.click('button[type="submit"], input[type="submit"]')]);
  summary.finalUrl = page.url();
  summary.result = await page.locator("#result").innerText();
  await page.screenshot({ path: `${outDir}/04-returned.png`, fullPage: true });
} finally {
  await browser.close();
}
printSummaryAndExit(summary, 0);
