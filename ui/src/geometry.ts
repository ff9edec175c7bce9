// Pure view logic: where a plane's pixels sit in the volume and in the
// patient, window presets, and fitting an image to a viewport. No DOM here,
// so it is unit-tested (geometry.test.ts).

import type { Affine, Frame, Plane, SeriesInfo, Vec3 } from "./types";

export interface WindowPreset {
  key: string;
  name: string;
  level: number;
  width: number;
}

/** Number keys 1–3, as radiologists expect. */
export const PRESETS: WindowPreset[] = [
  { key: "1", name: "Lung", level: -600, width: 1500 },
  { key: "2", name: "Mediastinum", level: 40, width: 400 },
  { key: "3", name: "Bone", level: 400, width: 1800 },
];

export const PLANES: Plane[] = ["axial", "coronal", "sagittal"];

/** Columns, rows and depth (slices along the normal) of a plane's image. */
export function planeDims(dims: Vec3, plane: Plane): Vec3 {
  const [nx, ny, nz] = dims;
  if (plane === "axial") return [nx, ny, nz];
  if (plane === "coronal") return [nx, nz, ny];
  return [ny, nz, nx];
}

/** Image pixel (x, y) at depth t → voxel (i, j, k); mirrors hilum-gpu's plane_voxel. */
export function planeToVoxel(dims: Vec3, plane: Plane, x: number, y: number, t: number): Vec3 {
  const nz = dims[2];
  if (plane === "axial") return [x, y, t];
  if (plane === "coronal") return [x, t, nz - 1 - y];
  return [t, x, nz - 1 - y];
}

/** Voxel (i, j, k) → image pixel (x, y) and depth t of a plane. */
export function voxelToPlane(dims: Vec3, plane: Plane, v: Vec3): Vec3 {
  const nz = dims[2];
  const [i, j, k] = v;
  if (plane === "axial") return [i, j, k];
  if (plane === "coronal") return [i, nz - 1 - k, j];
  return [j, nz - 1 - k, i];
}

/** Millimetres per image column and per image row of a plane. */
export function pixelMm(spacing: Vec3, plane: Plane): [number, number] {
  const [sx, sy, sz] = spacing;
  if (plane === "axial") return [sx, sy];
  if (plane === "coronal") return [sx, sz];
  return [sy, sz];
}

/** Slice spacing along a plane's normal, mm. */
export function normalMm(spacing: Vec3, plane: Plane): number {
  return plane === "axial" ? spacing[2] : plane === "coronal" ? spacing[1] : spacing[0];
}

export function voxelToLps(a: Affine, v: Vec3): Vec3 {
  return [0, 1, 2].map(
    (n) => a.origin[n] + v[0] * a.col_step[n] + v[1] * a.row_step[n] + v[2] * a.slice_step[n],
  ) as Vec3;
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Patient LPS mm → fractional voxel (Cramer's rule, as hilum-core does). */
export function lpsToVoxel(a: Affine, p: Vec3): Vec3 {
  const d: Vec3 = [p[0] - a.origin[0], p[1] - a.origin[1], p[2] - a.origin[2]];
  const [c, r, s] = [a.col_step, a.row_step, a.slice_step];
  const det = dot(c, cross(r, s));
  return [dot(d, cross(r, s)) / det, dot(c, cross(d, s)) / det, dot(c, cross(r, d)) / det];
}

/** Where a finding lies on a plane, and whether the current slice cuts it. */
export function findingOnPlane(
  series: SeriesInfo,
  plane: Plane,
  slice: number,
  centre: Vec3,
  diameterMm: number,
): { x: number; y: number; radiusMm: number } | null {
  const [x, y, t] = voxelToPlane(series.dims, plane, lpsToVoxel(series.affine, centre));
  const along = Math.abs(t - slice) * normalMm(series.spacing_mm, plane);
  const r = diameterMm / 2;
  if (along > r) return null;
  return { x, y, radiusMm: Math.sqrt(r * r - along * along) };
}

/** The slice of each plane through a point, clamped to the volume. */
export function slicesThrough(series: SeriesInfo, lps: Vec3): Record<Plane, number> {
  const v = lpsToVoxel(series.affine, lps);
  const out = {} as Record<Plane, number>;
  for (const plane of PLANES) {
    const [, , depth] = planeDims(series.dims, plane);
    const t = Math.round(voxelToPlane(series.dims, plane, v)[2]);
    out[plane] = Math.min(depth - 1, Math.max(0, t));
  }
  return out;
}

/** Slab thickness in slices for a thickness in mm (at least one slice). */
export function slabSlices(series: SeriesInfo, plane: Plane, mm: number): number {
  return Math.max(1, Math.round(mm / normalMm(series.spacing_mm, plane)));
}

export interface Fit {
  /** Screen pixels per mm. */
  scale: number;
  /** Screen position of the image's top-left corner. */
  left: number;
  top: number;
  /** Screen size of one image column and row. */
  colPx: number;
  rowPx: number;
}

/** Fits a plane image into a viewport, keeping true proportions, then zoom and pan. */
export function fit(
  viewW: number,
  viewH: number,
  imgW: number,
  imgH: number,
  mm: [number, number],
  zoom: number,
  pan: [number, number],
): Fit {
  const wMm = imgW * mm[0];
  const hMm = imgH * mm[1];
  const scale = Math.min(viewW / wMm, viewH / hMm) * zoom;
  return {
    scale,
    left: (viewW - wMm * scale) / 2 + pan[0],
    top: (viewH - hMm * scale) / 2 + pan[1],
    colPx: mm[0] * scale,
    rowPx: mm[1] * scale,
  };
}

/** Screen point → image pixel (fractional). */
export function screenToImage(f: Fit, sx: number, sy: number): [number, number] {
  return [(sx - f.left) / f.colPx, (sy - f.top) / f.rowPx];
}

/** A scale bar length that is a round number of mm and about a fifth of the view. */
export function scaleBarMm(viewW: number, scale: number): number {
  const target = viewW / 5 / scale;
  const steps = [1, 2, 5, 10, 20, 50, 100, 200];
  return steps.reduce((best, s) => (Math.abs(s - target) < Math.abs(best - target) ? s : best), 10);
}

/** Window change from a mouse drag: right widens, up brightens (lowers the level). */
export function dragWindow(level: number, width: number, dx: number, dy: number): [number, number] {
  const k = Math.max(1, width / 256);
  return [Math.round(level + dy * k), Math.round(Math.max(1, width + dx * k))];
}

/** Decodes a frame: width and height (u32 little-endian), then RGBA8 rows. */
export function decodeFrame(buf: ArrayBuffer): Frame {
  const head = new DataView(buf, 0, 8);
  const width = head.getUint32(0, true);
  const height = head.getUint32(4, true);
  if (buf.byteLength !== 8 + width * height * 4) {
    throw new Error(`frame of ${buf.byteLength} bytes is not ${width}×${height} RGBA`);
  }
  return { width, height, rgba: new Uint8ClampedArray(buf, 8) };
}

/** Length of a line between two image points, in mm. */
export function lengthMm(a: [number, number], b: [number, number], mm: [number, number]): number {
  return Math.hypot((b[0] - a[0]) * mm[0], (b[1] - a[1]) * mm[1]);
}
