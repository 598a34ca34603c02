// What every browser walk shares: Debian's headless Chromium started the same way, and the JSON summary
// printed as the last line of stdout before the process ends.
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// A pipe takes stdout asynchronously: exiting before the write is flushed cut a summary at 64 KiB (Odoo 17's
// journey, which takes the most frames, ended as unparseable JSON), so the exit waits for the write.
export function printSummaryAndExit(summary, code) {
  process.stdout.write(JSON.stringify(summary) + "\n", () => process.exit(code));
}
