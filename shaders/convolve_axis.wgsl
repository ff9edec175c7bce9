// A 1D convolution along one axis of a volume, zero outside it: one pass of
// the separable Gaussian (crates/hilum-detect/src/filters.rs) in one kernel.
//
// burn's generic conv3d ran these passes at under 0.1 GFLOP/s under lavapipe,
// where they were most of the candidate stage. Each invocation computes RUN
// neighbouring outputs along the axis from a sliding window of inputs, so each
// input read serves up to RUN taps (reads, not arithmetic, set the pace there).
//
// The module-scope constants, the run-time sizes and then axis_lines.wgsl
// (RUN, the numbering of invocations) are prepended by axis_filters.rs:
//   sizes.len    voxels along the axis
//   sizes.inner  elements between neighbours along the axis (the product of
//          the dimensions after it), sizes.outer the product of those before it
//   RADIUS taps either side of the centre (TAPS = 2·RADIUS + 1)
//   LINES_FIRST 1 when neighbouring invocations take neighbouring lines (the
//          axis is not the innermost one, so their reads are close together),
//          0 when they take neighbouring runs of one line
// Layouts (f32, contiguous): input and output [OUTER][LEN][INNER], taps [TAPS].

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

const TAPS: u32 = 2u * RADIUS + 1u;

// Input at position `i` along the line starting at `base`; zero outside.
fn sample(base: u32, i: i32) -> f32 {
    let inside = i >= 0 && i < i32(sizes.len);
    return select(0.0, input[select(0u, base + u32(i) * sizes.inner, inside)], inside);
}

fn run_invocation(id: u32) {
    let start = line_and_run(id);
    let base = start.x;
    let first = i32(start.y);

    // The window holds inputs first + t − RADIUS .. first + t − RADIUS + 3.
    var a = sample(base, first - i32(RADIUS));
    var b = sample(base, first - i32(RADIUS) + 1);
    var c = sample(base, first - i32(RADIUS) + 2);
    var o0 = 0.0;
    var o1 = 0.0;
    var o2 = 0.0;
    var o3 = 0.0;
    for (var t = 0u; t < TAPS; t++) {
        let d = sample(base, first - i32(RADIUS) + i32(t) + 3);
        let w = taps[t];
        o0 += w * a;
        o1 += w * b;
        o2 += w * c;
        o3 += w * d;
        a = b;
        b = c;
        c = d;
    }
    let len = sizes.len;
    let inner = sizes.inner;
    let at = base + u32(first) * inner;
    output[at] = o0;
    if u32(first) + 1u < len {
        output[at + inner] = o1;
    }
    if u32(first) + 2u < len {
        output[at + 2u * inner] = o2;
    }
    if u32(first) + 3u < len {
        output[at + 3u * inner] = o3;
    }
}
