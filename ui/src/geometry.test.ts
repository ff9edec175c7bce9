import { describe, expect, it } from "vitest";
import {
  decodeFrame,
  dragWindow,
  findingOnPlane,
  fit,
  lengthMm,
  lpsToVoxel,
  planeToVoxel,
  scaleBarMm,
  screenToImage,
  slabSlices,
  slicesThrough,
  voxelToLps,
  voxelToPlane,
} from "./geometry";
import type { Plane, SeriesInfo, Vec3 } from "./types";

const series: SeriesInfo = {
  series_instance_uid: "1.2",
  number: 2,
  description: "",
  modality: "CT",
  slices: 100,
  dims: [128, 120, 100],
  spacing_mm: [0.7, 0.7, 2.5],
  // An oblique affine: mapping must not assume axis-aligned slices.
  affine: {
    origin: [-100, -80, -300],
    col_step: [0.7, 0, 0],
    row_step: [0, 0.7 * Math.cos(0.2), -0.7 * Math.sin(0.2)],
    slice_step: [0, 2.5 * Math.sin(0.2), 2.5 * Math.cos(0.2)],
  },
  orientation: { axial: ["R", "L", "A", "P"], coronal: ["R", "L", "H", "F"], sagittal: ["A", "P", "H", "F"] },
  problems: [],
  chest_ct: true,
};

describe("plane mapping", () => {
  it("plane ↔ voxel round-trips for every plane", () => {
    for (const plane of ["axial", "coronal", "sagittal"] as Plane[]) {
      const v: Vec3 = [17, 33, 61];
      const [x, y, t] = voxelToPlane(series.dims, plane, v);
      expect(planeToVoxel(series.dims, plane, x, y, t)).toEqual(v);
    }
  });

  it("LPS ↔ voxel round-trips through an oblique affine", () => {
    const v: Vec3 = [10.5, 20.25, 33];
    const back = lpsToVoxel(series.affine, voxelToLps(series.affine, v));
    back.forEach((c, n) => expect(c).toBeCloseTo(v[n], 9));
  });

  it("puts the superior slice at the top of coronal and sagittal views", () => {
    expect(voxelToPlane(series.dims, "coronal", [0, 0, 99])[1]).toBe(0);
    expect(voxelToPlane(series.dims, "sagittal", [0, 0, 0])[1]).toBe(99);
  });

  it("finds the slices through a point and the circle a nodule cuts", () => {
    const centre = voxelToLps(series.affine, [64, 60, 50]);
    expect(slicesThrough(series, centre)).toEqual({ axial: 50, coronal: 60, sagittal: 64 });
    const on = findingOnPlane(series, "axial", 50, centre, 10);
    expect(on?.radiusMm).toBeCloseTo(5);
    // 2 slices away = 5 mm: the edge of a 10 mm nodule.
    expect(findingOnPlane(series, "axial", 52, centre, 10)?.radiusMm).toBeCloseTo(0);
    expect(findingOnPlane(series, "axial", 53, centre, 10)).toBeNull();
  });
});

describe("viewport", () => {
  it("fits keeping true proportions and maps clicks back to pixels", () => {
    const f = fit(800, 600, 128, 100, [0.7, 2.5], 1, [0, 0]);
    // 89.6 mm wide, 250 mm tall: height-limited.
    expect(f.scale).toBeCloseTo(600 / 250);
    expect(f.rowPx / f.colPx).toBeCloseTo(2.5 / 0.7);
    const [x, y] = screenToImage(f, f.left + 3.5 * f.colPx, f.top + 7.5 * f.rowPx);
    expect(x).toBeCloseTo(3.5, 9);
    expect(y).toBeCloseTo(7.5, 9);
  });

  it("chooses round scale bars and measures lengths in mm", () => {
    expect(scaleBarMm(500, 2)).toBe(50);
    expect(lengthMm([0, 0], [3, 4], [1, 1])).toBe(5);
    expect(lengthMm([0, 0], [0, 2], [0.7, 2.5])).toBe(5);
  });

  it("slab thickness in slices follows the plane's spacing", () => {
    expect(slabSlices(series, "axial", 10)).toBe(4);
    expect(slabSlices(series, "coronal", 10)).toBe(14);
    expect(slabSlices(series, "axial", 0)).toBe(1);
  });

  it("drags window and level in HU steps proportional to the width", () => {
    expect(dragWindow(-600, 1500, 0, 0)).toEqual([-600, 1500]);
    const [level, width] = dragWindow(-600, 1500, 10, -10);
    expect(width).toBeGreaterThan(1500);
    expect(level).toBeLessThan(-600);
    expect(dragWindow(0, 2, -1000, 0)[1]).toBe(1);
  });
});

describe("frames", () => {
  it("decodes the raw frame and refuses a short one", () => {
    const buf = new ArrayBuffer(8 + 2 * 3 * 4);
    const dv = new DataView(buf);
    dv.setUint32(0, 2, true);
    dv.setUint32(4, 3, true);
    new Uint8Array(buf)[8] = 200;
    const f = decodeFrame(buf);
    expect([f.width, f.height, f.rgba[0]]).toEqual([2, 3, 200]);
    expect(() => decodeFrame(buf.slice(0, 20))).toThrow(/not 2×3/);
  });
});
