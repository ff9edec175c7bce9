// One view of the CT volume, windowed to 8-bit grey: a thin slice (MPR) or a
// maximum / minimum intensity projection over a slab, in the axial, coronal or
// sagittal plane. One invocation per output pixel; output is RGBA8, ready for
// the screen. The CPU reference in hilum-gpu/src/render.rs does the same math.

struct Params {
    dims: vec4<u32>,      // nx, ny, nz, plane (0 axial, 1 coronal, 2 sagittal)
    slab: vec4<u32>,      // first, last (along the plane normal), mode (0 thin, 1 MIP, 2 MinIP), out_w
    window: vec4<f32>,    // lowest HU shown, 1 / width, out_h (as f32), unused
};

@group(0) @binding(0) var volume: texture_2d_array<i32>; // one layer per slice
@group(0) @binding(1) var<storage, read_write> pixels: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

// Output pixel (x, y) at depth t along the normal → voxel (i, j, k).
// Coronal and sagittal views put the last slice (superior) at the top.
fn voxel(x: u32, y: u32, t: u32) -> vec3<i32> {
    let nz = p.dims.z;
    switch p.dims.w {
        case 0u: { return vec3<i32>(i32(x), i32(y), i32(t)); }
        case 1u: { return vec3<i32>(i32(x), i32(t), i32(nz - 1u - y)); }
        default: { return vec3<i32>(i32(t), i32(x), i32(nz - 1u - y)); }
    }
}

fn load(v: vec3<i32>) -> i32 {
    return textureLoad(volume, v.xy, v.z, 0).r;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let out_w = p.slab.w;
    let out_h = u32(p.window.z);
    if (id.x >= out_w || id.y >= out_h) {
        return;
    }
    var value = load(voxel(id.x, id.y, p.slab.x));
    for (var t = p.slab.x + 1u; t <= p.slab.y; t = t + 1u) {
        let v = load(voxel(id.x, id.y, t));
        if (p.slab.z == 2u) {
            value = min(value, v);
        } else {
            value = max(value, v);
        }
    }
    let g = u32(floor(clamp((f32(value) - p.window.x) * p.window.y, 0.0, 1.0) * 255.0 + 0.5));
    pixels[id.y * out_w + id.x] = g | (g << 8u) | (g << 16u) | (255u << 24u);
}
