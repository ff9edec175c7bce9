// The real desktop app under Xvfb, driven by tauri-driver and Debian's
// WebKitWebDriver over plain WebDriver HTTP: the demo study opens on first
// launch, scrolls, changes window, runs detection and accepts a nodule.
// Screenshots of the real window go to SHOTS_DIR.
//
// usage (under a display, e.g. xvfb-run): node e2e/app.mjs APP_BINARY [SHOTS_DIR]

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { acceptBesideReject, statusOnFirstLine } from "./layout.mjs";

const app = resolve(process.argv[2]);
const shots = resolve(process.argv[3] ?? "e2e/out");
mkdirSync(shots, { recursive: true });
const step = (s) => console.error(`e2e(app): ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A fresh data folder: this is the app's first launch.
const env = { ...process.env, XDG_DATA_HOME: mkdtempSync(join(tmpdir(), "hilum-app-")), HILUM_DEMO: process.env.HILUM_DEMO ?? "small" };
const driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", "4444", "--native-driver", "/usr/bin/WebKitWebDriver"], {
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
const W = "http://127.0.0.1:4444";

async function wd(method, path, body) {
  const r = await fetch(W + path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value)}`);
  return j.value;
}

for (let i = 0; ; i++) {
  try {
    await fetch(W + "/status");
    break;
  } catch (e) {
    if (i > 100) throw e;
    await sleep(100);
  }
}

let session;
let failed = false;
try {
  session = (await wd("POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: app } } } })).sessionId;
  const S = `/session/${session}`;
  const js = (script, ...args) => wd("POST", `${S}/execute/sync`, { script, args });
  const until = async (what, script, timeoutMs = 60_000) => {
    const t0 = Date.now();
    for (;;) {
      const v = await js(script);
      if (v) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  };
  const find = async (css) => Object.values(await wd("POST", `${S}/element`, { using: "css selector", value: css }))[0];
  const click = async (css) => wd("POST", `${S}/element/${await find(css)}/click`, {});
  const key = (k) => js("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}))", k);
  const shot = async (name) => writeFileSync(join(shots, name), Buffer.from(await wd("GET", `${S}/screenshot`), "base64"));

  step("first launch opens the demo study");
  await until("the demo study", "return document.querySelector('#patient-name')?.textContent", 180_000);
  assert.equal(await js("return document.querySelector('#patient-name').textContent"), "PHANTOM, SEED 1");
  assert.match(await js("return document.querySelector('.notice').textContent"), /Decision support, not diagnosis/);
  await until("three rendered views", "return document.querySelectorAll('.viewport[data-rendered]').length === 3");
  step(`first image after ${await js("return document.body.dataset.firstImageMs")} ms`);
  await shot("app-1-opened.png");

  step("scroll and window");
  const before = Number(await js("return document.querySelector('.viewport[data-plane=axial]').dataset.rendered"));
  await key("ArrowDown");
  await until("the next slice", `return document.querySelector('.viewport[data-plane=axial]').dataset.rendered === '${before + 1}'`);
  await key("2");
  await until("the mediastinal window", "return !!document.querySelector('button[data-preset=mediastinum].on')");
  await key("1");

  step("run detection and accept a nodule");
  await click("#detect");
  await until("findings", "return document.querySelectorAll('.finding').length > 0", 300_000);
  assert.ok(await js(`return (${acceptBesideReject})()`), "Accept and Reject side by side on every finding");
  assert.ok(await js(`return (${statusOnFirstLine})()`), "every finding's status level with its number");
  await click(".finding button.accept");
  await until("an accepted finding", "return !!document.querySelector('.finding[data-status=accepted]')");
  await until("the report", "return /1 pulmonary nodule accepted/.test(document.querySelector('#report').value)");

  step("click the accepted finding: the axial view goes to the image the report cites");
  const image = Number((await js("return document.querySelector('#report').value")).match(/image (\d+) of/)[1]);
  await click(".finding[data-status=accepted] .line1 strong");
  await until("the finding selected", "return !!document.querySelector('.finding.selected[data-status=accepted]')");
  // data-rendered holds the (0-based) slice a view last drew.
  await until(`axial image ${image}`, `return document.querySelector('.viewport[data-plane=axial]').dataset.rendered === '${image - 1}'`);
  await sleep(500); // coronal and sagittal frames, if still in flight, for the screenshot
  await shot("app-2-reviewed.png");
  step("passed");
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  if (session) await wd("DELETE", `/session/${session}`).catch(() => {});
  driver.kill();
  rmSync(env.XDG_DATA_HOME, { recursive: true, force: true, maxRetries: 5 });
}
process.exit(failed ? 1 : 0);
