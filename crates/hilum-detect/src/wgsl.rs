//! What the hand-written WGSL kernels share (`fused_conv`, `axis_filters`,
//! `axis_resampling`, `blob_strength`): sizes as constants in the shader text,
//! burn tensors as their cubecl primitives, fresh outputs and 1D dispatches.

use burn::backend::wgpu::{into_contiguous, CubeBackend, CubeTensor};
use burn::cubecl::CubeCount;
use burn::tensor::{DType, Shape, Tensor};

/// Invocations per workgroup, as every shader declares.
pub const WORKGROUP: u32 = 64;
/// Workgroups per dispatch row (the smallest per-dimension limit wgpu guarantees).
const MAX_ROW: u32 = 65_535;

/// `const NAME: u32 = VALUE;` lines to put before a shader that expects them.
pub fn constants(values: &[(&str, u32)]) -> String {
    values
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect()
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
/// as the shaders compute their index.
pub fn dispatch(invocations: u32) -> CubeCount {
    let workgroups = invocations.div_ceil(WORKGROUP);
    let row = workgroups.clamp(1, MAX_ROW);
    CubeCount::Static(row, workgroups.div_ceil(row).max(1), 1)
}
