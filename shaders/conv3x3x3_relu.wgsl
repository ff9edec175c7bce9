// A 3×3×3 convolution, padding 1, with bias and ReLU: one layer of the
// candidate classifier (crates/hilum-detect/src/model.rs) in a single pass.
//
// Written for lavapipe, where burn's generic direct convolution ran at
// ~0.4 GFLOP/s and made the classifier most of a scan's time. There, every
// buffer read whose address differs between lanes is a loop over the lanes,
// so reads, not arithmetic, set the pace. Each invocation therefore computes
// RUN neighbouring output voxels along x for eight output channels: each
// weight read (four channels at once) serves RUN voxels, and each input read
// serves up to three taps. Out-of-range taps read index 0 and are multiplied
// by zero rather than branched around, so a SIMD group's lanes stay together.
// With RUN a constant, the compiler unrolls the loops over the run and keeps
// the arrays in registers; on lavapipe (2 cores) a layer of 16 → 32 channels
// at 12³ took 2.5 s a batch of 64 with RUN 3 and 0.9 s with RUN 12 (24 saved
// little more and cost seconds of compilation).
//
// The module-scope constants are prepended by fused_conv.rs:
//   BATCH, IN_C, IN_D, IN_H, IN_W, OUT_C, OUT_D, OUT_H, OUT_W, STRIDE (1 or 2),
//   RUN (OUT_W a multiple of it, OUT_C of 8). Layouts (f32, contiguous):
//   input  [BATCH][IN_C][IN_D][IN_H][IN_W]
//   weight [IN_C][27][OUT_C]   (taps in z, y, x order; read as vec4 over OUT_C)
//   bias   [OUT_C]
//   output [BATCH][OUT_C][OUT_D][OUT_H][OUT_W]

@group(0) @binding(0) var<storage, read_write> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

const GROUP: u32 = 8u;
const QUADS_PER_TAP: u32 = OUT_C / 4u;
const GROUPS: u32 = OUT_C / GROUP;
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
    let group = (id / RUNS) % GROUPS;
    let item = id / (RUNS * GROUPS);
    let ox = (run % (OUT_W / RUN)) * RUN;
    let oy = (run / (OUT_W / RUN)) % OUT_H;
    let oz = run / ((OUT_W / RUN) * OUT_H);
    let x0 = i32(ox * STRIDE) - 1;

    var lo: array<vec4<f32>, RUN>;
    var hi: array<vec4<f32>, RUN>;
    for (var j = 0u; j < RUN; j++) {
        lo[j] = bias[group * 2u];
        hi[j] = bias[group * 2u + 1u];
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
                // The taps of kx = 0, 1, 2 for this (c, kz, ky), eight channels each.
                let t = (c * 27u + kz * 9u + ky * 3u) * QUADS_PER_TAP + group * 2u;
                let a_lo = weight[t];
                let a_hi = weight[t + 1u];
                let b_lo = weight[t + QUADS_PER_TAP];
                let b_hi = weight[t + QUADS_PER_TAP + 1u];
                let c_lo = weight[t + 2u * QUADS_PER_TAP];
                let c_hi = weight[t + 2u * QUADS_PER_TAP + 1u];
                for (var i = 0u; i < TAPS_X; i++) {
                    v[i] = keep * sample(row, x0 + i32(i));
                }
                // Voxel j reads inputs j·STRIDE + kx of the row from x0.
                for (var j = 0u; j < RUN; j++) {
                    let s0 = v[j * STRIDE];
                    let s1 = v[j * STRIDE + 1u];
                    let s2 = v[j * STRIDE + 2u];
                    lo[j] += s0 * a_lo + s1 * b_lo + s2 * c_lo;
                    hi[j] += s0 * a_hi + s1 * b_hi + s2 * c_hi;
                }
            }
        }
    }
    let first = (item * OUT_C + group * GROUP) * OUT_VOXELS + (oz * OUT_H + oy) * OUT_W + ox;
    for (var j = 0u; j < RUN; j++) {
        store(first + j, max(lo[j], vec4<f32>(0.0)), max(hi[j], vec4<f32>(0.0)));
    }
}

// Eight channels of one output voxel; channel planes are OUT_VOXELS apart.
fn store(at: u32, lo: vec4<f32>, hi: vec4<f32>) {
    output[at] = lo.x;
    output[at + OUT_VOXELS] = lo.y;
    output[at + 2u * OUT_VOXELS] = lo.z;
    output[at + 3u * OUT_VOXELS] = lo.w;
    output[at + 4u * OUT_VOXELS] = hi.x;
    output[at + 5u * OUT_VOXELS] = hi.y;
    output[at + 6u * OUT_VOXELS] = hi.z;
    output[at + 7u * OUT_VOXELS] = hi.w;
}
