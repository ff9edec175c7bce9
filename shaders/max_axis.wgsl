// A running maximum along one axis of a volume over a window of 2·RADIUS + 1
// voxels, voxels outside the volume ignored: one pass of the separable 3D max
// pooling (crates/hilum-detect/src/filters.rs, `max_pool3d`), which burn's
// pooling kernels ran at a few seconds a pass over a chest under lavapipe.
// Each invocation computes RUN neighbouring outputs from one window of reads.
//
// The module-scope constants (RADIUS and LINES_FIRST), the run-time sizes
// (`sizes.len`, `sizes.inner`, `sizes.outer`, as for convolve_axis.wgsl) and
// then axis_lines.wgsl (RUN, the numbering of invocations) are prepended by
// axis_filters.rs.
// Layouts (f32, contiguous): input and output [OUTER][LEN][INNER].

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

const READS: u32 = RUN + 2u * RADIUS;
// Below every value a volume holds: what lies outside never wins.
const NOTHING: f32 = -3.0e38;

fn run_invocation(id: u32) {
    let start = line_and_run(id);
    let base = start.x;
    let first = i32(start.y);

    var v: array<f32, READS>;
    for (var r = 0u; r < READS; r++) {
        let i = first - i32(RADIUS) + i32(r);
        let inside = i >= 0 && i < i32(sizes.len);
        v[r] = select(NOTHING, input[select(0u, base + u32(i) * sizes.inner, inside)], inside);
    }
    for (var j = 0u; j < RUN; j++) {
        if u32(first) + j < sizes.len {
            var m = v[j];
            for (var t = 1u; t <= 2u * RADIUS; t++) {
                m = max(m, v[j + t]);
            }
            output[base + (u32(first) + j) * sizes.inner] = m;
        }
    }
}
