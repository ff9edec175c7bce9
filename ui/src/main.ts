// Hilum's reading screen: study browser, three MPR views with MIP, findings
// review and the report. Decision support, not diagnosis — said on screen.

import "./styles.css";
import { listen } from "@tauri-apps/api/event";
import { backend, inTauri, message } from "./backend";
import { dragWindow, lengthMm, pixelMm, planeToVoxel, PLANES, PRESETS, slicesThrough, voxelToLps } from "./geometry";
import type {
  DetectionStatus,
  Finding,
  Kind,
  Lobe,
  Opened,
  Plane,
  Probe,
  Recent,
  ReportView,
  Review,
  Status,
} from "./types";
import { Viewport, type Line, type ViewState } from "./viewport";

const api = backend();
const NOTICE = "Decision support, not diagnosis";
const KINDS: Kind[] = ["solid", "part-solid", "ground-glass", "calcified"];
const LOBES: Lobe[] = ["RUL", "RML", "RLL", "LUL", "LLL"];

const view: ViewState = { level: -600, width: 1500, projection: "thin", slabMm: 10 };
let opened: Opened | null = null;
let review: Review | null = null;
let selected: number | null = null;
let tool: "window" | "length" = "window";
let line: Line | null = null;
let active: Plane = "axial";
let cine: number | null = null;
let editing: number | null = null;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

// ---- layout -------------------------------------------------------------
const root = document.getElementById("app")!;
const patient = h("div", { id: "patient", class: "patient" }, "No study open");
const notice = h("div", { class: "notice", role: "note" }, NOTICE);
const openBtn = h("button", { id: "open", title: "Open a DICOM folder or file (O)" }, "Open…");
const demoBtn = h("button", { id: "demo", title: "Open the built-in demo study" }, "Demo study");
const detectBtn = h("button", { id: "detect", title: "Run nodule detection (D)" }, "Detect nodules");
const cancelBtn = h("button", { id: "cancel", title: "Cancel detection (Esc)", hidden: "" }, "Cancel");
const pathInput = h("input", { id: "path", placeholder: "Folder or file path", spellcheck: "false" });
const header = h(
  "header",
  {},
  h("div", { class: "brand" }, "Hilum"),
  patient,
  h("div", { class: "actions" }, pathInput, openBtn, demoBtn, detectBtn, cancelBtn),
  notice,
);

const seriesList = h("div", { id: "series" });
const recentList = h("div", { id: "recent" });
const browser = h("aside", { class: "browser" }, h("h2", {}, "Series"), seriesList, h("h2", {}, "Recent"), recentList);

const toolbar = h("div", { class: "toolbar" });
const grid = h("div", { class: "grid" });
const center = h("main", {}, toolbar, grid);

const progress = h("div", { id: "progress", hidden: "" }, h("div", { class: "bar" }), h("span", {}));
const findingsList = h("div", { id: "findings" });
const acceptOver = h("input", { id: "accept-over", type: "number", min: "0", max: "1", step: "0.05", value: "0.9" });
const acceptOverBtn = h("button", { id: "accept-all" }, "Accept all ≥");
const addBtn = h("button", { id: "add-nodule", disabled: "", title: "Measure a missed nodule with the length tool (L), then add it" }, "Add measured nodule");
const reportBox = h("textarea", { id: "report", spellcheck: "true", "aria-label": "Report text" });
const reportMeta = h("div", { id: "report-meta", class: "muted" });
const resetReport = h("button", { id: "reset-report" }, "Regenerate from findings");
const panel = h(
  "aside",
  { class: "panel" },
  h("h2", {}, "Findings"),
  progress,
  findingsList,
  h("div", { class: "row" }, acceptOverBtn, acceptOver, addBtn),
  h("h2", {}, "Report"),
  reportMeta,
  reportBox,
  h("div", { class: "row" }, resetReport),
);
const statusBar = h("footer", { id: "status" }, "");
const help = h("div", { id: "help", hidden: "" });
root.append(header, h("div", { class: "body" }, browser, center, panel), statusBar, help);

const viewports: Record<Plane, Viewport> = {} as Record<Plane, Viewport>;
for (const plane of PLANES) {
  const vp = new Viewport(plane, api, () => view, () => ({ findings: review?.findings ?? [], selected, line }));
  viewports[plane] = vp;
  grid.append(vp.el);
  wireViewport(vp);
}
grid.append(h("div", { class: "viewport legend" }, legend()));

function legend(): HTMLElement {
  return h(
    "div",
    {},
    h("p", {}, "Wheel / ↑↓: scroll · PgUp/PgDn: 10 slices · drag: window · right-drag or Ctrl+wheel: zoom · Shift/middle-drag: pan · double-click: other views to that point"),
    h("p", {}, "1 lung · 2 mediastinum · 3 bone · M: MIP · [ ]: slab · Space: cine · L: length · 0: reset view"),
    h("p", {}, "D: detect · N/P: next/previous finding · A: accept · R: reject · ?: all shortcuts"),
    h("p", { class: "muted" }, "Pending findings: dashed amber · accepted: green · rejected: hidden"),
  );
}

/** When the status line last reported an error (performance.now()). */
let lastErrorAt = -1;
function say(text: string, error = false) {
  statusBar.textContent = text;
  statusBar.classList.toggle("error", error);
  if (error) lastErrorAt = performance.now();
}

// ---- toolbar ------------------------------------------------------------
function renderToolbar() {
  toolbar.replaceChildren(
    ...PRESETS.map((p) => {
      const b = h("button", { "data-preset": p.name.toLowerCase(), title: `${p.name} window (${p.key})` }, `${p.key} ${p.name}`);
      b.classList.toggle("on", view.level === p.level && view.width === p.width);
      b.onclick = () => setWindow(p.level, p.width);
      return b;
    }),
    sep(),
    toggle("thin", "Thin"),
    toggle("mip", "MIP"),
    toggle("minip", "MinIP"),
    labelled("Slab mm", slabInput),
    sep(),
    toolButton("window", "W/L tool"),
    toolButton("length", "Length (L)"),
    (() => {
      const b = h("button", { id: "cine", title: "Cine (Space)" }, cine ? "Stop cine" : "Cine");
      b.onclick = toggleCine;
      return b;
    })(),
  );
}
const slabInput = h("input", { id: "slab", type: "number", min: "1", max: "100", step: "1", value: String(view.slabMm) });
slabInput.onchange = () => {
  view.slabMm = Math.max(1, Math.min(100, Number(slabInput.value) || 10));
  redraw();
};
function sep() {
  return h("span", { class: "sep" });
}
function labelled(text: string, el: HTMLElement) {
  return h("label", { class: "inline" }, text, el);
}
function toggle(p: ViewState["projection"], text: string) {
  const b = h("button", { "data-projection": p }, text);
  b.classList.toggle("on", view.projection === p);
  b.onclick = () => {
    view.projection = p;
    redraw();
  };
  return b;
}
function toolButton(t: typeof tool, text: string) {
  const b = h("button", { "data-tool": t }, text);
  b.classList.toggle("on", tool === t);
  b.onclick = () => {
    tool = t;
    renderToolbar();
  };
  return b;
}

function setWindow(level: number, width: number) {
  view.level = level;
  view.width = width;
  redraw();
}

function redraw() {
  renderToolbar();
  for (const vp of Object.values(viewports)) vp.request();
}

function toggleCine() {
  if (cine) {
    clearInterval(cine);
    cine = null;
  } else {
    cine = window.setInterval(() => {
      const vp = viewports[active];
      vp.setSlice(vp.slice + 1 >= vp.depth() ? 0 : vp.slice + 1);
    }, 1000 / 15);
  }
  renderToolbar();
}

// ---- viewports: mouse ---------------------------------------------------
function wireViewport(vp: Viewport) {
  const c = vp.canvas;
  c.addEventListener("contextmenu", (e) => e.preventDefault());
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    active = vp.plane;
    if (e.ctrlKey) {
      vp.zoom = Math.min(20, Math.max(0.25, vp.zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1)));
      vp.draw();
    } else {
      vp.scroll(e.deltaY > 0 ? 1 : -1);
    }
  }, { passive: false });
  c.addEventListener("mousedown", (e) => {
    active = vp.plane;
    const start = { x: e.clientX, y: e.clientY, level: view.level, width: view.width, zoom: vp.zoom, pan: [...vp.pan] };
    const mode = e.button === 1 || (e.button === 0 && e.shiftKey) ? "pan" : e.button === 2 ? "zoom" : tool;
    const from = vp.pixelAt(e);
    if (mode === "length") {
      if (!from) return;
      line = { plane: vp.plane, slice: vp.slice, a: from, b: from };
    }
    const move = (m: MouseEvent) => {
      const dx = m.clientX - start.x;
      const dy = m.clientY - start.y;
      if (mode === "window") {
        const [level, width] = dragWindow(start.level, start.width, dx, dy);
        setWindow(level, width);
      } else if (mode === "zoom") {
        vp.zoom = Math.min(20, Math.max(0.25, start.zoom * Math.exp(-dy / 200)));
        vp.draw();
      } else if (mode === "pan") {
        vp.pan = [start.pan[0] + dx, start.pan[1] + dy];
        vp.draw();
      } else if (mode === "length" && line) {
        line.b = vp.pixelAt(m) ?? line.b;
        vp.draw();
      }
    };
    const up = () => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
      if (mode === "length" && line) {
        const mm = lengthMm(line.a, line.b, pixelMm(opened!.series.spacing_mm, vp.plane));
        addBtn.disabled = !(line.plane === "axial" && mm >= 1);
        say(`Length ${mm.toFixed(1)} mm${line.plane === "axial" ? " — “Add measured nodule” adds it as a finding" : ""}`);
      }
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  });
  // Double-click: the other two views go to the slices through that point.
  c.addEventListener("dblclick", (e) => {
    const p = vp.pixelAt(e);
    if (!p || !opened) return;
    const s = opened.series;
    const lps = voxelToLps(s.affine, planeToVoxel(s.dims, vp.plane, p[0], p[1], vp.slice));
    const at = slicesThrough(s, lps);
    for (const other of PLANES) if (other !== vp.plane) viewports[other].setSlice(at[other]);
  });
  let probing = false;
  c.addEventListener("mousemove", (e) => {
    const p = vp.pixelAt(e);
    if (!p || probing || !opened) return;
    probing = true;
    api
      .json<Probe>("probe", { plane: vp.plane, slice: vp.slice, x: Math.floor(p[0]), y: Math.floor(p[1]) })
      .then((r) => {
        const [x, y, z] = r.lps_mm.map((v) => v.toFixed(1));
        say(`${r.hu} HU at (${x}, ${y}, ${z}) mm LPS · voxel ${r.voxel.join(", ")}`);
        statusBar.dataset.hu = String(r.hu);
      })
      .catch(() => {})
      .finally(() => (probing = false));
  });
}

// ---- keyboard -----------------------------------------------------------
const SHORTCUTS: [string, string][] = [
  ["1 / 2 / 3", "Lung / mediastinum / bone window"],
  ["↑ ↓ or wheel", "Previous / next slice"],
  ["PgUp / PgDn", "10 slices"],
  ["Home / End", "First / last slice"],
  ["M", "Cycle thin → MIP → MinIP"],
  ["[ / ]", "Thinner / thicker slab (5 mm steps)"],
  ["Space", "Cine on / off"],
  ["L / W", "Length tool / window tool"],
  ["0", "Reset zoom and pan"],
  ["Double-click", "Move the other views to that point"],
  ["Tab", "Next view"],
  ["D / Esc", "Run / cancel detection"],
  ["N / P", "Next / previous finding"],
  ["A / R", "Accept / reject the selected finding"],
  ["O", "Open a folder"],
  ["?", "This help"],
];

window.addEventListener("keydown", (e) => {
  if (e.target instanceof Element && e.target.closest("input, textarea, select")) return;
  const vp = viewports[active];
  const preset = PRESETS.find((p) => p.key === e.key);
  const handled = (() => {
    if (preset) return setWindow(preset.level, preset.width), true;
    switch (e.key) {
      case "ArrowUp": return vp.scroll(-1), true;
      case "ArrowDown": return vp.scroll(1), true;
      case "PageUp": return vp.scroll(-10), true;
      case "PageDown": return vp.scroll(10), true;
      case "Home": return vp.setSlice(0), true;
      case "End": return vp.setSlice(vp.depth() - 1), true;
      case "m": case "M":
        view.projection = view.projection === "thin" ? "mip" : view.projection === "mip" ? "minip" : "thin";
        return redraw(), true;
      case "[": view.slabMm = Math.max(5, view.slabMm - 5); slabInput.value = String(view.slabMm); return redraw(), true;
      case "]": view.slabMm = Math.min(100, view.slabMm + 5); slabInput.value = String(view.slabMm); return redraw(), true;
      case " ": return toggleCine(), true;
      case "l": case "L": tool = "length"; return renderToolbar(), true;
      case "w": case "W": tool = "window"; return renderToolbar(), true;
      case "0": vp.zoom = 1; vp.pan = [0, 0]; return vp.draw(), true;
      case "Tab": active = PLANES[(PLANES.indexOf(active) + 1) % 3]; return markActive(), true;
      case "d": case "D": return void startDetection(), true;
      case "Escape": return void api.json("cancel_detection"), (help.hidden = true), true;
      case "n": case "N": return selectStep(1), true;
      case "p": case "P": return selectStep(-1), true;
      case "a": case "A": return selected !== null && void setStatus(selected, "accepted"), true;
      case "r": case "R": return selected !== null && void setStatus(selected, "rejected"), true;
      case "o": case "O": return void openDialog(), true;
      case "?": return (help.hidden = !help.hidden), true;
    }
    return false;
  })();
  if (handled) e.preventDefault();
});

function markActive() {
  for (const vp of Object.values(viewports)) vp.el.classList.toggle("active", vp.plane === active);
}

help.append(
  h("h2", {}, "Keyboard shortcuts"),
  h("table", {}, ...SHORTCUTS.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))),
  h("p", { class: "muted" }, "Press ? or Esc to close."),
);

// ---- studies ------------------------------------------------------------
async function open(command: string, args?: unknown) {
  say("Opening…");
  const t0 = performance.now();
  try {
    const o = await api.json<Opened>(command, args);
    showOpened(o);
    const first = viewports.axial;
    first.onRendered = () => {
      first.onRendered = null;
      const ms = performance.now() - t0;
      document.body.dataset.firstImageMs = ms.toFixed(0);
      // An error since the study was chosen (its review, its report) stays on screen.
      if (lastErrorAt >= t0) return;
      say(`Opened ${o.series.slices} slices in ${o.load_ms.toFixed(0)} ms; first image after ${ms.toFixed(0)} ms · rendering on ${o.renderer}` +
        (o.errors.length ? ` · ${o.errors.length} file(s) unreadable: ${o.errors[0]}` : "") +
        (o.warnings.length ? ` · ${o.warnings[0]}` : ""));
    };
  } catch (e) {
    say(message(e), true);
  }
}

function showOpened(o: Opened) {
  opened = o;
  const s = o.study;
  const seriesLine = `${o.series.description || s.description} · ${o.series.dims[0]}×${o.series.dims[1]}×${o.series.slices} · ${o.series.spacing_mm.map((v) => v.toFixed(2)).join(" × ")} mm`;
  patient.replaceChildren(
    h("strong", { id: "patient-name" }, s.patient_name),
    h("span", { id: "patient-id" }, `ID ${s.patient_id}`),
    h("span", { id: "study-date" }, s.study_date || "no date"),
    h("span", { class: "muted series-line", title: seriesLine }, seriesLine),
  );
  for (const plane of PLANES) viewports[plane].setSeries(o.series);
  line = null;
  selected = null;
  renderSeries(o);
  void refreshReview();
  void refreshRecent();
  document.body.dataset.study = s.study_instance_uid;
}

function renderSeries(o: Opened) {
  seriesList.replaceChildren(
    ...o.studies.flatMap((st) =>
      st.series.map((se) => {
        const canvas = h("canvas", { class: "thumb", width: "64", height: "64" });
        api.frame("thumbnail", { series_uid: se.series_instance_uid }).then((f) => {
          canvas.width = f.width;
          canvas.height = f.height;
          canvas.getContext("2d")!.putImageData(new ImageData(f.rgba, f.width, f.height), 0, 0);
        }).catch(() => {});
        const item = h(
          "button",
          { class: "series-item", title: se.problems.join("\n") || se.series_instance_uid },
          canvas,
          h("div", {},
            h("div", {}, `${se.number ?? ""} ${se.description || se.modality}`),
            h("div", { class: "muted" }, `${se.modality} · ${se.slices} slices · ${se.spacing_mm[2].toFixed(2)} mm`),
            se.problems.length ? h("div", { class: "warn" }, `${se.problems.length} geometry warning(s)`) : "",
          ),
        );
        item.classList.toggle("on", se.series_instance_uid === o.series.series_instance_uid);
        item.onclick = () => open("open_series", { study_uid: st.study_instance_uid, series_uid: se.series_instance_uid });
        return item;
      }),
    ),
  );
}

async function refreshRecent() {
  const recent = await api.json<Recent[]>("recent").catch(() => [] as Recent[]);
  recentList.replaceChildren(
    ...recent.map((r) => {
      const b = h("button", { class: "recent-item", title: r.path }, h("div", {}, r.patient_name), h("div", { class: "muted" }, `${r.patient_id} · ${r.study_date}`));
      b.onclick = () => open("open_path", { path: r.path });
      return b;
    }),
  );
}

async function openDialog() {
  if (inTauri()) {
    const path = await api.json<string | null>("pick_folder").catch(() => null);
    if (path) await open("open_path", { path });
  } else if (pathInput.value.trim()) {
    await open("open_path", { path: pathInput.value.trim() });
  } else {
    pathInput.focus();
    say("Type a folder or file path, then Open");
  }
}
openBtn.onclick = () => void (pathInput.value.trim() ? open("open_path", { path: pathInput.value.trim() }) : openDialog());
pathInput.onkeydown = (e) => {
  if (e.key === "Enter") void open("open_path", { path: pathInput.value.trim() });
};
demoBtn.onclick = () => void open("open_demo");

// Drag and drop: the desktop shell sends the dropped path; a browser cannot.
if (inTauri()) {
  void listen<string>("hilum://open-path", (e) => void open("open_path", { path: e.payload }));
} else {
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    say("Dropping folders works in the desktop app; here, type the path and press Open", true);
  });
}

// ---- detection and review ------------------------------------------------
async function startDetection() {
  if (!opened) return;
  try {
    await api.json("start_detection");
  } catch (e) {
    return say(message(e), true);
  }
  progress.hidden = false;
  cancelBtn.hidden = false;
  detectBtn.disabled = true;
  for (;;) {
    const s = await api.json<DetectionStatus>("detection_status");
    (progress.firstChild as HTMLElement).style.width = `${Math.round(s.fraction * 100)}%`;
    (progress.lastChild as HTMLElement).textContent = `${s.stage} · ${Math.round(s.fraction * 100)}% · ${s.device}`;
    if (!s.running) {
      progress.hidden = true;
      cancelBtn.hidden = true;
      detectBtn.disabled = false;
      if (s.error) say(`Detection failed: ${s.error}`, true);
      else if (s.finished) {
        await refreshReview();
        const r = review?.detection;
        say(`Detection done in ${r?.seconds.toFixed(1)} s on ${r?.device}: ${review?.findings.filter((f) => f.source === "detector").length} finding(s) to review`);
      } else say("Detection cancelled");
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
detectBtn.onclick = () => void startDetection();
cancelBtn.onclick = () => void api.json("cancel_detection");

async function refreshReview() {
  review = await api.json<Review>("review").catch((e) => {
    say(`Review not loaded: ${message(e)}`, true);
    return null;
  });
  renderFindings();
  await refreshReport();
  for (const vp of Object.values(viewports)) vp.draw();
}

async function setStatus(id: number, status: Status) {
  review = await api.json<Review>("set_status", { id, status });
  await afterChange();
}

async function afterChange() {
  renderFindings();
  await refreshReport();
  for (const vp of Object.values(viewports)) vp.draw();
}

function selectFinding(f: Finding) {
  selected = f.id;
  const at = slicesThrough(opened!.series, f.center_lps_mm);
  // The axial image the nodule was measured on, which the report cites.
  at.axial = f.slice_index;
  for (const plane of PLANES) viewports[plane].setSlice(at[plane]);
  renderFindings();
}

function selectStep(step: number) {
  const list = review?.findings ?? [];
  if (!list.length) return;
  const i = list.findIndex((f) => f.id === selected);
  selectFinding(list[(i + step + list.length) % list.length]);
}

function renderFindings() {
  const list = review?.findings ?? [];
  if (!list.length) {
    findingsList.replaceChildren(h("p", { class: "muted" }, review?.detection ? "No findings." : "Run detection (D) to find nodules."));
    return;
  }
  findingsList.replaceChildren(
    ...list.map((f) => {
      const size = editing === f.id ? editor(f) : h("span", { class: "size" }, `${f.diameter_mm.toFixed(1)} mm (${f.long_axis_mm.toFixed(1)} × ${f.short_axis_mm.toFixed(1)})`);
      const kind = h("select", { "aria-label": "kind" }, ...KINDS.map((k) => h("option", k === f.kind ? { selected: "" } : {}, k)));
      kind.onchange = () => void edit(f.id, { kind: kind.value });
      const lobe = h("select", { "aria-label": "lobe" }, h("option", { value: "" }, "lobe?"), ...LOBES.map((l) => h("option", l === f.lobe ? { selected: "" } : {}, l)));
      lobe.onchange = () => void edit(f.id, { lobe: lobe.value || null });
      const accept = h("button", { class: "accept", title: "Accept (A)" }, "Accept");
      accept.onclick = (e) => (e.stopPropagation(), void setStatus(f.id, "accepted"));
      const reject = h("button", { class: "reject", title: "Reject (R)" }, "Reject");
      reject.onclick = (e) => (e.stopPropagation(), void setStatus(f.id, "rejected"));
      const editBtn = h("button", { class: "edit" }, editing === f.id ? "Done" : "Edit size");
      editBtn.onclick = (e) => {
        e.stopPropagation();
        editing = editing === f.id ? null : f.id;
        renderFindings();
      };
      const row = h(
        "div",
        { class: `finding ${f.status}`, "data-id": String(f.id), "data-status": f.status },
        // The status stays top right: the summary wraps within its own box
        // (a long size with "LR 4A" had pushed the badge onto a line alone).
        h("div", { class: "line1" },
          h("span", { class: "summary" },
            h("strong", {}, `#${f.id}`), size,
            h("span", { class: "cat" }, `LR ${f.lung_rads}`),
            h("span", { class: "muted" }, f.confidence === null ? "added by reader" : `conf ${f.confidence.toFixed(2)}`),
          ),
          h("span", { class: `badge ${f.status}` }, f.status + (f.edited ? " · edited" : "")),
        ),
        h("div", { class: "line2" }, kind, lobe),
        // Accept and Reject side by side on a line of their own, wherever the
        // engine's selects are wide (WebKitGTK's wrapped Reject under Accept).
        h("div", { class: "line3" }, accept, reject, editBtn),
      );
      row.classList.toggle("selected", f.id === selected);
      row.onclick = () => selectFinding(f);
      return row;
    }),
  );
}

function editor(f: Finding): HTMLElement {
  const long = h("input", { type: "number", step: "0.1", value: String(f.long_axis_mm), "aria-label": "long axis mm" });
  const short = h("input", { type: "number", step: "0.1", value: String(f.short_axis_mm), "aria-label": "short axis mm" });
  const save = () => void edit(f.id, { long_axis_mm: Number(long.value), short_axis_mm: Number(short.value) }).then(() => {
    editing = null;
    renderFindings();
  });
  long.onchange = save;
  short.onchange = save;
  for (const i of [long, short]) i.onclick = (e) => e.stopPropagation();
  return h("span", { class: "size" }, long, " × ", short, " mm");
}

async function edit(id: number, e: Record<string, unknown>) {
  try {
    review = await api.json<Review>("edit_finding", { id, edit: e });
    await afterChange();
  } catch (err) {
    say(message(err), true);
  }
}

acceptOverBtn.onclick = async () => {
  review = await api.json<Review>("accept_all_over", { confidence: Number(acceptOver.value) });
  await afterChange();
};

addBtn.onclick = async () => {
  if (!line || !opened || line.plane !== "axial") return;
  const s = opened.series;
  const mid: [number, number] = [(line.a[0] + line.b[0]) / 2, (line.a[1] + line.b[1]) / 2];
  const centre = voxelToLps(s.affine, planeToVoxel(s.dims, "axial", mid[0], mid[1], line.slice));
  const long = lengthMm(line.a, line.b, pixelMm(s.spacing_mm, "axial"));
  try {
    review = await api.json<Review>("add_finding", { center_lps_mm: centre, long_axis_mm: long, slice_index: line.slice });
    line = null;
    addBtn.disabled = true;
    await afterChange();
  } catch (e) {
    say(message(e), true);
  }
};

// ---- report --------------------------------------------------------------
let reportTimer: number | undefined;
async function refreshReport() {
  const r = await api.json<ReportView>("report").catch((e) => {
    say(`Report not loaded: ${message(e)}`, true);
    return null;
  });
  if (!r) return;
  if (document.activeElement !== reportBox) reportBox.value = r.text;
  reportMeta.textContent = `Lung-RADS ${r.lung_rads} · ${r.management} · ${r.accepted} accepted finding(s)${r.edited ? " · edited by reader" : ""}`;
}
reportBox.oninput = () => {
  clearTimeout(reportTimer);
  reportTimer = window.setTimeout(() => void api.json("set_report_text", { text: reportBox.value }), 400);
};
resetReport.onclick = async () => {
  await api.json("set_report_text", { text: null });
  reportBox.value = "";
  await refreshReport();
};

// ---- start ---------------------------------------------------------------
renderToolbar();
markActive();
renderFindings();
void (async () => {
  const recent = await api.json<Recent[]>("recent").catch(() => [] as Recent[]);
  const startup = await api.json<string | null>("startup_path").catch(() => null);
  if (startup) await open("open_path", { path: startup });
  else if (recent.length) await open("open_path", { path: recent[0].path });
  else await open("open_demo");
})();
