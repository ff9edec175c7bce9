// What convolve_axis.wgsl and max_axis.wgsl share, prepended to each by
// crates/hilum-detect/src/axis_filters.rs after the constants (RADIUS,
// LINES_FIRST), the run-time sizes (`sizes.len`, `sizes.inner`,
// `sizes.outer`) and invocation.wgsl: invocations numbered over the lines
// along the axis and runs of RUN outputs on each line.

const RUN: u32 = 4u;

fn runs() -> u32 {
    return (sizes.len + RUN - 1u) / RUN;
}

// For invocation `id` (below LINES · RUNS): the index of its line's first
// element, and its run's first position along the line. Neighbouring
// invocations take neighbouring lines when the axis is not the innermost
// (their reads are then close together), else neighbouring runs of a line.
fn line_and_run(id: u32) -> vec2<u32> {
    let lines = sizes.outer * sizes.inner;
    var line: u32;
    var run: u32;
    if LINES_FIRST == 1u {
        line = id % lines;
        run = id / lines;
    } else {
        line = id / runs();
        run = id % runs();
    }
    return vec2<u32>((line / sizes.inner) * sizes.len * sizes.inner + line % sizes.inner, run * RUN);
}
