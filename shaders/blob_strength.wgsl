// Bright-blob strength from the Hessian of a smoothed volume, in one pass:
// the six second derivatives by central differences and the blobness of
// crates/hilum-detect/src/filters.rs (`hessian`, then `blobness`), which under
// lavapipe took about a dozen of burn's kernels and a full-size tensor each.
//
// blob_strength.rs prepends the run-time sizes `sizes.d`, `sizes.h`,
// `sizes.w` (the volume's dimensions). Layouts (f32, contiguous): input and
// output [d][h][w].
//
// As in filters.rs: a first difference ½ (f(+1) − f(−1)) and a second
// difference f(+1) − 2 f(0) + f(−1) are zero at both ends of their axis, and
// a mixed derivative is the first difference of a first difference.

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

fn at(z: u32, y: u32, x: u32) -> f32 {
    return input[(z * sizes.h + y) * sizes.w + x];
}

// Whether `i` has a neighbour on both sides along an axis of `n` voxels.
fn interior(i: u32, n: u32) -> bool {
    return i > 0u && i + 1u < n;
}

fn run_invocation(id: u32) {
    let D = sizes.d;
    let H = sizes.h;
    let W = sizes.w;
    let x = id % W;
    let y = (id / W) % H;
    let z = id / (W * H);
    let iz = interior(z, D);
    let iy = interior(y, H);
    let ix = interior(x, W);
    // Neighbour coordinates, clamped so every read is in range; a derivative
    // that needs a missing neighbour is zeroed below instead.
    let z0 = select(z, z - 1u, z > 0u);
    let z1 = min(z + 1u, D - 1u);
    let y0 = select(y, y - 1u, y > 0u);
    let y1 = min(y + 1u, H - 1u);
    let x0 = select(x, x - 1u, x > 0u);
    let x1 = min(x + 1u, W - 1u);
    let c = at(z, y, x);

    let hzz = select(0.0, at(z1, y, x) + at(z0, y, x) - 2.0 * c, iz);
    let hyy = select(0.0, at(z, y1, x) + at(z, y0, x) - 2.0 * c, iy);
    let hxx = select(0.0, at(z, y, x1) + at(z, y, x0) - 2.0 * c, ix);
    let hzy = select(0.0, 0.25 * (at(z1, y1, x) - at(z0, y1, x) - at(z1, y0, x) + at(z0, y0, x)), iz && iy);
    let hzx = select(0.0, 0.25 * (at(z1, y, x1) - at(z0, y, x1) - at(z1, y, x0) + at(z0, y, x0)), iz && ix);
    let hyx = select(0.0, 0.25 * (at(z, y1, x1) - at(z, y0, x1) - at(z, y1, x0) + at(z, y0, x0)), iy && ix);

    let trace = hzz + hyy + hxx;
    let minor2 = hzz * hyy - hzy * hzy;
    let det = hzz * (hyy * hxx - hyx * hyx) - hzy * (hzy * hxx - hyx * hzx) + hzx * (hzy * hyx - hyy * hzx);
    let negative_definite = hzz < 0.0 && minor2 > 0.0 && det < 0.0;
    let magnitude = pow(max(-det, 0.0), 1.0 / 3.0);
    let shape = magnitude * -3.0 / min(trace, -1e-6);
    output[id] = select(0.0, sqrt(magnitude) * shape * shape, negative_definite);
}
