// Linear resampling along one axis of a volume: the resampling to isotropic
// voxels (crates/hilum-detect/src/filters.rs, `resample_axis`) in one kernel.
// burn's two gathers and lerp took about 7.6 s for a 512×512×300 scan under
// lavapipe, five times its CPU backend.
//
// axis_resampling.rs prepends the run-time sizes:
//   sizes.outer  the product of the dimensions before the axis
//   sizes.n_in, sizes.n_out  voxels along the axis, in and out
//   sizes.inner  the product of the dimensions after the axis
// Layouts (f32, contiguous): input [OUTER][N_IN][INNER], output
// [OUTER][N_OUT][INNER], and `samples` [3][N_OUT]: for each output position
// the lower and upper input index (whole numbers, as f32) and the weight of
// the upper, computed on the host exactly as burn's path takes them.

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> samples: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

fn run_invocation(id: u32) {
    let INNER = sizes.inner;
    let N_IN = sizes.n_in;
    let N_OUT = sizes.n_out;
    let inner = id % INNER;
    let i = (id / INNER) % N_OUT;
    let outer = id / (INNER * N_OUT);
    let base = outer * N_IN * INNER + inner;
    let a = input[base + u32(samples[i]) * INNER];
    let b = input[base + u32(samples[N_OUT + i]) * INNER];
    output[id] = a + (b - a) * samples[2u * N_OUT + i];
}
