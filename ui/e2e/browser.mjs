// The UI in a real browser (Debian's Chromium through playwright-core) against
// `hilum serve`: the real pipeline behind the real UI. Opens the demo study,
// scrolls, changes the window, runs detection, accepts a nodule, and checks the
// report and that no request left the machine. Screenshots go to $SHOTS.
//
// usage: node e2e/browser.mjs HILUM_BINARY [SHOTS_DIR]

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { acceptBesideReject, statusOnFirstLine } from "./layout.mjs";

const hilum = process.argv[2];
const shots = resolve(process.argv[3] ?? "e2e/out");
mkdirSync(shots, { recursive: true });
const data = mkdtempSync(join(tmpdir(), "hilum-e2e-"));
const step = (s) => console.error(`e2e(browser): ${s}`);

// burn's CPU backend unless told otherwise: this test is about the UI; the
// device path (renderer and detector on lavapipe) is covered by the Rust tests
// and by the app test, and the CPU backend detects ~8× faster on two cores.
const server = spawn(hilum, ["serve", "--port", "0", "--ui", "dist", "--data-dir", data, "--demo", "small"], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, HILUM_DEVICE: process.env.HILUM_DEVICE ?? "cpu" },
});
const base = await new Promise((ok, fail) => {
  server.stdout.on("data", (b) => ok(b.toString().trim().split("\n")[0]));
  server.on("exit", (c) => fail(new Error(`hilum serve exited with ${c}`)));
});
step(`serving on ${base}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
let failed = false;
// Every request that failed or was refused, to say why if a step fails.
const refused = [];
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const offsite = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) offsite.push(r.url());
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("requestfailed", (r) => refused.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", async (r) => {
    if (r.status() >= 400) refused.push(`${r.url()}: ${r.status()} ${await r.text().catch(() => "")}`);
  });

  await page.goto(base);
  step("first launch opens the demo study");
  await page.waitForSelector("#patient-name", { timeout: 120_000 });
  assert.equal(await page.textContent("#patient-name"), "PHANTOM, SEED 1");
  assert.match(await page.textContent("#patient-id"), /PHANTOM-000001/);
  assert.equal(await page.textContent("#study-date"), "2026-01-01");
  assert.match(await page.textContent(".notice"), /Decision support, not diagnosis/);
  const axial = page.locator('.viewport[data-plane="axial"]');
  await page.waitForFunction(() => document.querySelector('.viewport[data-plane="axial"]')?.dataset.rendered === "48");
  await page.waitForFunction(() => document.querySelectorAll(".viewport[data-rendered]").length === 3);
  const firstImageMs = await page.evaluate(() => document.body.dataset.firstImageMs);
  step(`first image ${firstImageMs} ms after choosing the study`);
  await page.screenshot({ path: join(shots, "browser-1-opened.png") });

  step("scroll by wheel and keys");
  const box = await axial.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await page.waitForFunction(() => document.querySelector('.viewport[data-plane="axial"]').dataset.rendered === "49");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.waitForFunction(() => document.querySelector('.viewport[data-plane="axial"]').dataset.rendered === "51");
  await page.waitForFunction(() => document.querySelector("#status")?.dataset.hu !== undefined);

  step("window presets and drag");
  await page.keyboard.press("2");
  await page.waitForSelector('button[data-preset="mediastinum"].on');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 10, { steps: 4 });
  await page.mouse.up();
  assert.equal(await page.locator('button[data-preset="mediastinum"].on').count(), 0, "drag changed the window");
  await page.keyboard.press("1");
  await page.keyboard.press("m");
  await page.waitForSelector('button[data-projection="mip"].on');
  await page.screenshot({ path: join(shots, "browser-2-mip.png") });
  await page.keyboard.press("m");
  await page.keyboard.press("m");

  step("run detection (progress, then findings to review)");
  await page.click("#detect");
  await page.waitForSelector("#progress:not([hidden])", { timeout: 10_000 }).catch(() => {});
  await page.waitForSelector(".finding", { timeout: 240_000 });
  const pending = await page.locator('.finding[data-status="pending"]').count();
  assert.ok(pending > 0, "detector findings arrive pending");
  assert.match(await page.inputValue("#report"), /no pulmonary nodule accepted/);
  assert.ok(await page.evaluate(acceptBesideReject), "Accept and Reject side by side on every finding");
  assert.ok(await page.evaluate(statusOnFirstLine), "every finding's status level with its number");

  step("select, accept and reject");
  await page.click(".finding >> nth=0");
  await page.click(".finding >> nth=0 >> button.accept");
  await page.waitForSelector('.finding[data-status="accepted"]');
  if (pending > 1) {
    await page.click(".finding >> nth=1 >> button.reject");
    await page.waitForSelector('.finding[data-status="rejected"]');
  }
  await page.waitForFunction(() => /1 pulmonary nodule accepted/.test(document.querySelector("#report").value));
  const report = await page.inputValue("#report");
  assert.match(report, /Lung-RADS v2022 category/);
  assert.match(report, /decision support, not diagnosis/);
  await page.screenshot({ path: join(shots, "browser-3-reviewed.png") });

  step("the review survives a reload");
  await page.reload();
  // A reload opens the study again: allow what the first launch is allowed.
  await page.waitForSelector('.finding[data-status="accepted"]', { timeout: 120_000 });

  assert.deepEqual(offsite, [], "the UI made no requests beyond its own origin");
  assert.deepEqual(errors, [], "no script errors");
  if (refused.length) step(`requests that failed or were refused (a reload aborts those in flight):\n${refused.join("\n")}`);
  step("passed");
} catch (e) {
  failed = true;
  console.error(e);
  console.error(`requests that failed or were refused:\n${refused.join("\n") || "none"}`);
  const page = browser.contexts().flatMap((c) => c.pages())[0];
  if (page) {
    console.error(`status line: ${await page.textContent("#status").catch(() => null)}`);
    await page.screenshot({ path: join(shots, "browser-failure.png") }).catch(() => {});
  }
} finally {
  await browser.close();
  server.kill();
  rmSync(data, { recursive: true, force: true, maxRetries: 5 });
}
process.exit(failed ? 1 : 0);
