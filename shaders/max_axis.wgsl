// A running maximum along one axis of a volume over a window of 2·RADIUS + 1
// voxels, voxels outside the volume ignored: one pass of the separable 3D max
// pooling (crates/hilum-detect/src/filters.rs, `max_pool3d`), which burn's
// pooling kernels ran at a few seconds a pass over a chest under lavapipe.
// Each invocation computes RUN neighbouring outputs from one window of reads.
//
// The module-scope constants are prepended by axis_filters.rs: LEN, INNER,
// OUTER, RADIUS and LINES_FIRST, as for convolve_axis.wgsl.
// Layouts (f32, contiguous): input and output [OUTER][LEN][INNER].

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

const RUN: u32 = 4u;
const READS: u32 = RUN + 2u * RADIUS;
const RUNS: u32 = (LEN + RUN - 1u) / RUN;
const LINES: u32 = OUTER * INNER;
// Below every value a volume holds: what lies outside never wins.
const NOTHING: f32 = -3.0e38;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let id = (workgroup.x + workgroup.y * workgroups.x) * 64u + lane;
    if id >= LINES * RUNS {
        return;
    }
    var line: u32;
    var run: u32;
    if LINES_FIRST == 1u {
        line = id % LINES;
        run = id / LINES;
    } else {
        line = id / RUNS;
        run = id % RUNS;
    }
    let base = (line / INNER) * LEN * INNER + line % INNER;
    let first = i32(run * RUN);

    var v: array<f32, READS>;
    for (var r = 0u; r < READS; r++) {
        let i = first - i32(RADIUS) + i32(r);
        let inside = i >= 0 && i < i32(LEN);
        v[r] = select(NOTHING, input[select(0u, base + u32(i) * INNER, inside)], inside);
    }
    for (var j = 0u; j < RUN; j++) {
        if u32(first) + j < LEN {
            var m = v[j];
            for (var t = 1u; t <= 2u * RADIUS; t++) {
                m = max(m, v[j + t]);
            }
            output[base + (u32(first) + j) * INNER] = m;
        }
    }
}
