"""Reference loader for `cargo xtask bench load`: the usual Python path.

Reads every file under PATH with pydicom, keeps the images of the first series,
sorts them along the slice normal, stacks them and rescales to int16 HU.
Prints JSON timings (best and median of REPEAT runs after one warm-up).
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import pydicom


def load(path):
    files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    slices = []
    for f in files:
        try:
            ds = pydicom.dcmread(f)
        except Exception:
            continue
        if "PixelData" in ds:
            slices.append(ds)
    series = slices[0].SeriesInstanceUID
    slices = [s for s in slices if s.SeriesInstanceUID == series]
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=float))))
    volume = np.stack([s.pixel_array for s in slices]).astype(np.float32)
    slope = float(getattr(slices[0], "RescaleSlope", 1))
    intercept = float(getattr(slices[0], "RescaleIntercept", 0))
    return np.clip(np.rint(volume * slope + intercept), -32768, 32767).astype(np.int16)


def main():
    path, repeat = sys.argv[1], int(sys.argv[2])
    volume = load(path)  # warm-up: page cache and imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        load(path)
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"best_ms": min(times), "median_ms": statistics.median(times), "shape": list(volume.shape)}))


if __name__ == "__main__":
    main()
