//! What the hand-written WGSL kernels share (`fused_conv`, `axis_filters`,
//! `axis_resampling`, `blob_strength`): each shader's text assembled from its
//! sizes as constants and the one entry point, burn tensors as
//! their cubecl primitives, fresh outputs and the dispatches that numbering
//! expects.

use burn::backend::wgpu::{into_contiguous, CubeBackend, CubeTensor, SourceTemplate};
use burn::cubecl::CubeCount;
use burn::tensor::{DType, Shape, Tensor};

/// Invocations per workgroup, as every shader declares.
pub const WORKGROUP: u32 = 64;
/// Workgroups per dispatch row (the smallest per-dimension limit wgpu guarantees).
const MAX_ROW: u32 = 65_535;

/// Every shader's entry point: it numbers invocations as [`dispatch`] lays
/// them out and calls the shader's `run_invocation(id)` for each id below its
/// `INVOCATIONS`.
const INVOCATION: &str = include_str!("../../../shaders/invocation.wgsl");

/// A shader's source: `const NAME: u32 = VALUE;` for each of `constants`, the
/// shared entry point, then `parts` in order.
pub fn shader(constants: &[(&str, u32)], parts: &[&str]) -> SourceTemplate {
    let mut source: String = constants
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect();
    source.push_str(INVOCATION);
    parts.iter().for_each(|part| source.push_str(part));
    SourceTemplate::new(source)
}

/// The tensor's cubecl primitive, f32 and contiguous from the start of its
/// buffer (copied if it is a view), or `None` when it lives on another
/// backend (burn's CPU backend, or autodiff during training).
pub fn f32_primitive<const D: usize>(t: &Tensor<D>) -> Option<CubeTensor> {
    let primitive = t.clone().try_into_primitive::<CubeBackend>().ok()?;
    if primitive.dtype != DType::F32 {
        return None;
    }
    Some(
        if primitive.is_contiguous() && primitive.is_contiguous_buffer() {
            primitive
        } else {
            into_contiguous(primitive)
        },
    )
}

/// A new contiguous f32 tensor of `shape` on `like`'s device, contents unset.
pub fn empty_f32(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let bytes = shape.num_elements() * size_of::<f32>();
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        like.client.empty(bytes),
        DType::F32,
    )
}

/// Workgroups for `invocations` numbered `(x + y·rows) · WORKGROUP + lane`,
/// as `shaders/invocation.wgsl` numbers them.
pub fn dispatch(invocations: u32) -> CubeCount {
    let workgroups = invocations.div_ceil(WORKGROUP);
    let row = workgroups.clamp(1, MAX_ROW);
    CubeCount::Static(row, workgroups.div_ceil(row).max(1), 1)
}
