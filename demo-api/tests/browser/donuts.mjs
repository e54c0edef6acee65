// Drives the donut shop page in Debian's Chromium: pick donuts, order, watch the status reach
// "ready", take screenshots. Run by demo-api/tests/browser.rs:
//   node donuts.mjs <shop-url> <screenshot-dir>
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [url, shots = "screenshots"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node donuts.mjs <shop-url> [screenshot-dir]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { requests: [], states: [], consoleErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.on("console", (m) => { if (m.type() === "error") seen.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => seen.consoleErrors.push(String(e)));
  // Everything the page loads must come from the shop itself.
  page.on("request", (r) => seen.requests.push(r.url()));

  await page.goto(url, { waitUntil: "load" });
  seen.title = await page.title();
  seen.heading = await page.locator("h1").innerText();
  seen.flavors = await page.locator("button.donut").evaluateAll((b) => b.map((x) => x.dataset.flavor));

  // An empty cart cannot be ordered.
  seen.orderDisabledWhenEmpty = await page.locator("#order").isDisabled();

  await page.getByTestId("donut-glazed").click();
  await page.getByTestId("donut-glazed").click();
  await page.getByTestId("donut-jelly").click();
  seen.cart = await page.locator("#cart li").allInnerTexts();
  await page.screenshot({ path: join(shots, "donut-shop-cart.png") });

  await page.locator("#order").click();
  await page.locator("#status-box").waitFor({ state: "visible", timeout: 10_000 });
  seen.firstWait = await page.locator("#wait").innerText();
  seen.states.push(await page.locator("#state").innerText());
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await page.locator("#state").innerText();
    if (seen.states[seen.states.length - 1] !== state) seen.states.push(state);
    if (state === "ready") break;
    if (Date.now() > deadline) throw new Error(`order never ready; states seen: ${seen.states}`);
    await page.waitForTimeout(100);
  }
  seen.finalWait = await page.locator("#wait").innerText();
  seen.cartAfterOrder = await page.locator("#cart li").allInnerTexts();
  seen.message = await page.locator("#message").innerText();
  await page.waitForTimeout(800); // let the progress bar finish its transition
  await page.screenshot({ path: join(shots, "donut-shop-ready.png") });
  seen.final = "ready";
  console.log(JSON.stringify(seen));
} catch (err) {
  console.log(JSON.stringify(seen));
  console.error(String(err && err.stack || err));
  process.exitCode = 1;
} finally {
  await browser.close();
}
