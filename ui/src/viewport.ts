// One view of the volume: a canvas the Rust side's frames are drawn into,
// with the overlays a reader needs (orientation letters, scale bar, slice,
// window, findings, the length tool). Requests are coalesced: while one frame
// is being rendered only the newest wanted view is remembered.

import type { Backend } from "./backend";
import {
  findingOnPlane,
  fit,
  lengthMm,
  pixelMm,
  planeDims,
  scaleBarMm,
  screenToImage,
  slabSlices,
  type Fit,
} from "./geometry";
import type { Finding, Frame, Plane, Projection, SeriesInfo } from "./types";

export interface ViewState {
  level: number;
  width: number;
  projection: Projection;
  slabMm: number;
}

export interface Line {
  plane: Plane;
  slice: number;
  a: [number, number];
  b: [number, number];
}

export class Viewport {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  slice = 0;
  zoom = 1;
  pan: [number, number] = [0, 0];
  frame: Frame | null = null;
  lastRenderMs = 0;
  private image = document.createElement("canvas");
  private inFlight = false;
  private wanted = false;
  private series: SeriesInfo | null = null;
  private rendered = "";
  onRendered: (() => void) | null = null;

  constructor(
    readonly plane: Plane,
    private readonly backend: Backend,
    private readonly state: () => ViewState,
    private readonly overlays: () => { findings: Finding[]; selected: number | null; line: Line | null },
  ) {
    this.el = document.createElement("div");
    this.el.className = "viewport";
    this.el.dataset.plane = plane;
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("aria-label", `${plane} view`);
    this.el.append(this.canvas);
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  setSeries(series: SeriesInfo) {
    this.series = series;
    this.slice = Math.floor(this.depth() / 2);
    this.zoom = 1;
    this.pan = [0, 0];
    this.frame = null;
    this.request();
  }

  depth(): number {
    return this.series ? planeDims(this.series.dims, this.plane)[2] : 1;
  }

  scroll(by: number) {
    const next = Math.min(this.depth() - 1, Math.max(0, this.slice + by));
    if (next !== this.slice) {
      this.slice = next;
      this.request();
    }
  }

  setSlice(slice: number) {
    this.slice = Math.min(this.depth() - 1, Math.max(0, slice));
    this.request();
  }

  /** Asks for a new frame (the newest wins while one is in flight). */
  request() {
    if (!this.series) return;
    if (this.inFlight) {
      this.wanted = true;
      return;
    }
    const s = this.state();
    const slab = s.projection === "thin" ? 1 : slabSlices(this.series, this.plane, s.slabMm);
    const req = {
      plane: this.plane,
      slice: this.slice,
      projection: s.projection,
      slab,
      level: s.level,
      width: s.width,
    };
    const key = JSON.stringify(req);
    if (key === this.rendered && this.frame) {
      this.draw();
      return;
    }
    this.inFlight = true;
    const t0 = performance.now();
    this.backend
      .frame("render", req)
      .then((f) => {
        this.frame = f;
        this.rendered = key;
        this.image.width = f.width;
        this.image.height = f.height;
        this.image.getContext("2d")!.putImageData(new ImageData(f.rgba, f.width, f.height), 0, 0);
        this.draw();
        this.lastRenderMs = performance.now() - t0;
        this.el.dataset.rendered = String(this.slice);
        // For `./x bench app`: request-to-pixels time of every frame.
        this.el.dispatchEvent(new CustomEvent("rendered", { detail: this.lastRenderMs }));
        this.onRendered?.();
      })
      .catch((e) => console.error(e))
      .finally(() => {
        this.inFlight = false;
        if (this.wanted) {
          this.wanted = false;
          this.request();
        }
      });
  }

  fit(): Fit | null {
    if (!this.series || !this.frame) return null;
    return fit(
      this.canvas.clientWidth,
      this.canvas.clientHeight,
      this.frame.width,
      this.frame.height,
      pixelMm(this.series.spacing_mm, this.plane),
      this.zoom,
      this.pan,
    );
  }

  /** Image pixel under a mouse event, or null outside the image. */
  pixelAt(ev: MouseEvent): [number, number] | null {
    const f = this.fit();
    if (!f || !this.frame) return null;
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = screenToImage(f, ev.clientX - r.left, ev.clientY - r.top);
    if (x < 0 || y < 0 || x >= this.frame.width || y >= this.frame.height) return null;
    return [x, y];
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#000";
    g.fillRect(0, 0, w, h);
    const f = this.fit();
    if (!f || !this.frame || !this.series) return;
    g.imageSmoothingEnabled = f.colPx < 4;
    g.drawImage(this.image, f.left, f.top, this.frame.width * f.colPx, this.frame.height * f.rowPx);
    this.drawFindings(g, f);
    this.drawLine(g, f);
    this.drawText(g, f, w, h);
  }

  private drawFindings(g: CanvasRenderingContext2D, f: Fit) {
    const { findings, selected } = this.overlays();
    for (const n of findings) {
      if (n.status === "rejected") continue;
      const on = findingOnPlane(this.series!, this.plane, this.slice, n.center_lps_mm, n.diameter_mm);
      if (!on) continue;
      const cx = f.left + (on.x + 0.5) * f.colPx;
      const cy = f.top + (on.y + 0.5) * f.rowPx;
      const r = Math.max(6, (on.radiusMm + 3) * f.scale);
      g.strokeStyle = n.status === "accepted" ? "#3ddc84" : "#ffb020";
      g.lineWidth = n.id === selected ? 2.5 : 1.5;
      g.setLineDash(n.status === "pending" ? [5, 4] : []);
      g.beginPath();
      g.arc(cx, cy, r, 0, Math.PI * 2);
      g.stroke();
      g.setLineDash([]);
      g.fillStyle = g.strokeStyle;
      g.font = "12px system-ui, sans-serif";
      g.fillText(`#${n.id}`, cx + r * 0.75, cy - r * 0.75);
    }
  }

  private drawLine(g: CanvasRenderingContext2D, f: Fit) {
    const line = this.overlays().line;
    if (!line || line.plane !== this.plane || line.slice !== this.slice) return;
    const p = (q: [number, number]) => [f.left + q[0] * f.colPx, f.top + q[1] * f.rowPx];
    const [ax, ay] = p(line.a);
    const [bx, by] = p(line.b);
    g.strokeStyle = "#4fc3f7";
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(ax, ay);
    g.lineTo(bx, by);
    g.stroke();
    const mm = lengthMm(line.a, line.b, pixelMm(this.series!.spacing_mm, this.plane));
    g.fillStyle = "#4fc3f7";
    g.font = "13px system-ui, sans-serif";
    g.fillText(`${mm.toFixed(1)} mm`, bx + 6, by - 6);
  }

  private drawText(g: CanvasRenderingContext2D, f: Fit, w: number, h: number) {
    const s = this.state();
    const [left, right, top, bottom] = this.series!.orientation[this.plane];
    g.fillStyle = "#ffd54f";
    g.font = "bold 14px system-ui, sans-serif";
    g.textAlign = "center";
    g.fillText(top, w / 2, 16);
    g.fillText(bottom, w / 2, h - 6);
    g.textAlign = "left";
    g.fillText(left, 6, h / 2);
    g.textAlign = "right";
    g.fillText(right, w - 6, h / 2);
    g.textAlign = "left";
    g.fillStyle = "#e0e0e0";
    g.font = "12px system-ui, sans-serif";
    const proj = s.projection === "thin" ? "" : ` · ${s.projection.toUpperCase()} ${s.slabMm} mm`;
    g.fillText(`${this.plane[0].toUpperCase()}${this.plane.slice(1)} ${this.slice + 1}/${this.depth()}${proj}`, 8, 18);
    g.fillText(`W ${s.width} L ${s.level}`, 8, 34);
    // Scale bar, bottom right.
    const bar = scaleBarMm(w, f.scale);
    const px = bar * f.scale;
    g.strokeStyle = "#e0e0e0";
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(w - 16 - px, h - 20);
    g.lineTo(w - 16, h - 20);
    g.moveTo(w - 16 - px, h - 25);
    g.lineTo(w - 16 - px, h - 15);
    g.moveTo(w - 16, h - 25);
    g.lineTo(w - 16, h - 15);
    g.stroke();
    g.textAlign = "right";
    g.fillText(`${bar} mm`, w - 16, h - 28);
    g.textAlign = "left";
  }
}
