// `./x bench app`: the viewer measured in the running UI (Chromium against
// `hilum serve`, release build), one JSON line per run on stdout:
//  - first image: from choosing the study (Enter in the path box) to the first
//    axial image drawn on the canvas;
//  - scroll and window/level: from the input event to the frame drawn, per frame;
//  - host memory of the Hilum process: baseline with the UI served and the
//    compute device up but no study open; peak after.
//
// usage: node e2e/bench.mjs HILUM_BINARY STUDY_PATH DEVICE_LABEL

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [hilum, study, label] = process.argv.slice(2);
const data = mkdtempSync(join(tmpdir(), "hilum-bench-"));
// A recent-studies entry that does not exist makes the UI wait instead of opening the demo.
const server = spawn(hilum, ["serve", "--port", "0", "--ui", "dist", "--data-dir", data], { stdio: ["ignore", "pipe", "ignore"] });
const base = await new Promise((ok) => server.stdout.on("data", (b) => ok(b.toString().trim().split("\n")[0])));
const kb = (field) => Number(readFileSync(`/proc/${server.pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+)`))[1]);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
// Keep the UI from opening the demo study on its own: answer "recent" and "startup" first.
await page.route("**/api/open_demo", (r) => r.fulfill({ status: 422, body: "benchmark: no demo" }));
await page.goto(base);
await page.waitForFunction(() => /no demo/.test(document.querySelector("#status")?.textContent ?? ""));
await page.unroute("**/api/open_demo");
// The app's baseline: UI served and compute device up (the app brings it up at
// start), no study open yet.
const device = await page.evaluate(() => fetch("/api/device", { method: "POST" }).then(async (r) => ({ ok: r.ok, text: await r.text() })));
if (!device.ok) {
  console.log(JSON.stringify({ device: label, error: device.text }));
  await browser.close();
  server.kill();
  process.exit(0);
}
const deviceName = JSON.parse(device.text);
const baselineKb = kb("VmRSS");

await page.fill("#path", study);
await page.press("#path", "Enter");
// The routed "no demo" answer left the status bar in its error state: wait for
// the first image, or for an error about this study.
await page.waitForFunction(
  () => {
    const error = document.querySelector("#status.error");
    return document.body.dataset.firstImageMs !== undefined || (error !== null && !/no demo/.test(error.textContent ?? ""));
  },
  null,
  { timeout: 120_000 },
);
if ((await page.evaluate(() => document.body.dataset.firstImageMs)) === undefined) {
  console.log(JSON.stringify({ device: label, error: await page.textContent("#status") }));
  await browser.close();
  server.kill();
  process.exit(0);
}
const firstImageMs = Number(await page.evaluate(() => document.body.dataset.firstImageMs));
await page.waitForFunction(() => document.querySelectorAll(".viewport[data-rendered]").length === 3);
const dims = await page.evaluate(() => document.querySelector(".patient .muted").textContent);

// Input → pixels, measured in the page: the time of the input event to the
// `rendered` event of the views it changes.
await page.evaluate(() => {
  window.__lat = [];
  window.__pending = null;
  for (const v of document.querySelectorAll(".viewport[data-plane]")) {
    v.addEventListener("rendered", () => {
      const p = window.__pending;
      if (!p) return;
      p.left -= 1;
      if (p.left === 0) {
        window.__lat.push(performance.now() - p.t0);
        window.__pending = null;
      }
    });
  }
});
async function measure(n, views, act) {
  await page.evaluate(() => (window.__lat = []));
  for (let i = 0; i < n; i++) {
    await page.evaluate((views) => (window.__pending = { t0: performance.now(), left: views }), views);
    await act(i);
    await page.waitForFunction(() => window.__pending === null, null, { timeout: 30_000 });
  }
  const lat = (await page.evaluate(() => window.__lat)).sort((a, b) => a - b);
  return { median: lat[Math.floor(lat.length / 2)], p95: lat[Math.floor(lat.length * 0.95)] };
}
// The path box still has the focus; the arrow keys are the viewer's once it goes.
await page.evaluate(() => document.activeElement?.blur());
const axial = await page.locator('.viewport[data-plane="axial"] canvas').boundingBox();
await page.mouse.move(axial.x + axial.width / 2, axial.y + axial.height / 2);
const scroll = await measure(40, 1, (i) => page.keyboard.press(i % 20 < 10 ? "ArrowDown" : "ArrowUp"));
await page.mouse.down();
const windowing = await measure(40, 3, (i) => page.mouse.move(axial.x + axial.width / 2 + (i % 2 ? 0 : 30), axial.y + axial.height / 2 + i));
await page.mouse.up();
const peakKb = kb("VmHWM");
console.log(JSON.stringify({ device: label, deviceName, dims, firstImageMs, scroll, windowing, baselineMb: baselineKb / 1024, peakMb: peakKb / 1024 }));
await browser.close();
server.kill();
