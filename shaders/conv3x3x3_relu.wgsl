// A 3×3×3 convolution, padding 1, with bias and ReLU, for one group of
// output channels: one layer of the candidate classifier
// (crates/hilum-detect/src/model.rs) in a single pass per group.
//
// Written for lavapipe, where burn's generic direct convolution ran at
// ~0.4 GFLOP/s and made the classifier most of a scan's time. There, every
// storage-buffer read is a loop over the SIMD lanes with a bounds check per
// lane, so reads, not arithmetic, set the pace. Two things keep them few:
// - The weights and bias come in a uniform buffer, one per dispatch (one
//   dispatch per group of output channels), and every lane reads the same
//   weight at the same time: lavapipe loads such a value once for all lanes.
//   With the weights in a storage buffer instead, the classifier's five
//   layers took 1.87 s a batch of 64 patches, against 0.90 s so with eight
//   channels a dispatch (2 cores).
// - Each invocation computes RUN neighbouring output voxels along x for the
//   group's 4 · QUADS channels: each input read serves up to three taps and
//   every channel of the group (fused_conv.rs picks RUN and the group).
//   With both constants, the compiler unrolls the loops over them and keeps
//   the sums in registers.
// Out-of-range taps read index 0 and are multiplied by zero rather than
// branched around, so a SIMD group's lanes stay together. On a GPU the same
// choices hold: a uniform value read by a whole warp is one broadcast.
//
// The module-scope constants are prepended by fused_conv.rs:
//   BATCH, IN_C, IN_D, IN_H, IN_W, OUT_C, OUT_D, OUT_H, OUT_W, STRIDE (1 or 2),
//   RUN (OUT_W a multiple of it), QUADS (the group's channels / 4),
//   WEIGHT_QUADS (IN_C · 27 · QUADS).
// Layouts (f32, contiguous):
//   input  [BATCH][IN_C][IN_D][IN_H][IN_W]
//   output [BATCH][OUT_C][OUT_D][OUT_H][OUT_W]; this dispatch writes the
//          group's channels, from 4 · QUADS · params.group.x
//   params.weight [IN_C][27][QUADS] vec4s: the taps in z, y, x order, each as
//          QUADS vec4s of the group's output channels

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

struct Params {
    // x: which group of output channels (the rest is padding).
    group: vec4<u32>,
    bias: array<vec4<f32>, QUADS>,
    weight: array<vec4<f32>, WEIGHT_QUADS>,
}
@group(0) @binding(2) var<uniform> params: Params;

const TAPS_X: u32 = (RUN - 1u) * STRIDE + 3u;
const RUNS: u32 = OUT_D * OUT_H * (OUT_W / RUN);
const OUT_VOXELS: u32 = OUT_D * OUT_H * OUT_W;

// Input x at `i` within a row starting at `row`, zero outside the row.
fn sample(row: u32, i: i32) -> f32 {
    let inside = i >= 0 && i < i32(IN_W);
    return select(0.0, input[select(0u, row + u32(i), inside)], inside);
}

fn run_invocation(id: u32) {
    // Neighbouring invocations take neighbouring runs of one patch, so
    // their reads and writes are close together on a GPU.
    let run = id % RUNS;
    let item = id / RUNS;
    let ox = (run % (OUT_W / RUN)) * RUN;
    let oy = (run / (OUT_W / RUN)) % OUT_H;
    let oz = run / ((OUT_W / RUN) * OUT_H);
    let x0 = i32(ox * STRIDE) - 1;

    // Voxel j of the run, channels 4q..4q + 3 of the group.
    var acc: array<array<vec4<f32>, QUADS>, RUN>;
    for (var j = 0u; j < RUN; j++) {
        for (var q = 0u; q < QUADS; q++) {
            acc[j][q] = params.bias[q];
        }
    }
    var v: array<f32, TAPS_X>;
    for (var c = 0u; c < IN_C; c++) {
        let channel = (item * IN_C + c) * IN_D;
        for (var kz = 0u; kz < 3u; kz++) {
            let iz = i32(oz * STRIDE + kz) - 1;
            for (var ky = 0u; ky < 3u; ky++) {
                let iy = i32(oy * STRIDE + ky) - 1;
                let row_inside = iz >= 0 && iz < i32(IN_D) && iy >= 0 && iy < i32(IN_H);
                let row = ((channel + u32(max(iz, 0))) * IN_H + u32(max(iy, 0))) * IN_W;
                let keep = select(0.0, 1.0, row_inside);
                for (var i = 0u; i < TAPS_X; i++) {
                    v[i] = keep * sample(row, x0 + i32(i));
                }
                // The taps of kx = 0, 1, 2 for this (c, kz, ky): the same for every lane.
                let t = (c * 27u + kz * 9u + ky * 3u) * QUADS;
                for (var q = 0u; q < QUADS; q++) {
                    let a = params.weight[t + q];
                    let b = params.weight[t + QUADS + q];
                    let d = params.weight[t + 2u * QUADS + q];
                    // Voxel j reads inputs j·STRIDE + kx of the row from x0.
                    for (var j = 0u; j < RUN; j++) {
                        acc[j][q] += v[j * STRIDE] * a + v[j * STRIDE + 1u] * b + v[j * STRIDE + 2u] * d;
                    }
                }
            }
        }
    }
    let first = (item * OUT_C + params.group.x * 4u * QUADS) * OUT_VOXELS
        + (oz * OUT_H + oy) * OUT_W + ox;
    for (var j = 0u; j < RUN; j++) {
        for (var q = 0u; q < QUADS; q++) {
            store(first + j + 4u * q * OUT_VOXELS, max(acc[j][q], vec4<f32>(0.0)));
        }
    }
}

// Four channels of one output voxel; channel planes are OUT_VOXELS apart.
fn store(at: u32, value: vec4<f32>) {
    output[at] = value.x;
    output[at + OUT_VOXELS] = value.y;
    output[at + 2u * OUT_VOXELS] = value.z;
    output[at + 3u * OUT_VOXELS] = value.w;
}
