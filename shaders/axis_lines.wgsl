// What convolve_axis.wgsl and max_axis.wgsl share, prepended to each by
// crates/hilum-detect/src/axis_filters.rs after the size constants (LEN,
// INNER, OUTER, RADIUS, LINES_FIRST) and invocation.wgsl: invocations numbered over the lines
// along the axis and runs of RUN outputs on each line.

const RUN: u32 = 4u;
const RUNS: u32 = (LEN + RUN - 1u) / RUN;
const LINES: u32 = OUTER * INNER;

// For invocation `id` (below LINES · RUNS): the index of its line's first
// element, and its run's first position along the line. Neighbouring
// invocations take neighbouring lines when the axis is not the innermost
// (their reads are then close together), else neighbouring runs of a line.
fn line_and_run(id: u32) -> vec2<u32> {
    var line: u32;
    var run: u32;
    if LINES_FIRST == 1u {
        line = id % LINES;
        run = id / LINES;
    } else {
        line = id / RUNS;
        run = id % RUNS;
    }
    return vec2<u32>((line / INNER) * LEN * INNER + line % INNER, run * RUN);
}
