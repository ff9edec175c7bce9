//! What the hand-written WGSL kernels share (`fused_conv`, `axis_filters`,
//! `axis_resampling`, `blob_strength`): each shader's text assembled from its
//! sizes as constants and the one entry point, its launch with the
//! dispatch that entry point expects, burn tensors as their cubecl
//! primitives, and fresh outputs.

use burn::backend::wgpu::{
    into_contiguous, CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate,
};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::KernelArguments;
use burn::cubecl::{CubeCount, CubeDim};
use burn::tensor::{DType, Shape, Tensor};
use std::fmt::Debug;
use std::hash::Hash;

/// Invocations per workgroup, as `shaders/invocation.wgsl` declares.
const WORKGROUP: u32 = 64;
/// Workgroups per dispatch row (the smallest per-dimension limit wgpu guarantees).
const MAX_ROW: u32 = 65_535;

/// Every shader's entry point: it numbers invocations as [`dispatch`] lays
/// them out and calls the shader's `run_invocation(id)` for each id below its
/// `INVOCATIONS`.
const INVOCATION: &str = include_str!("../../../shaders/invocation.wgsl");

/// A hand-written kernel: one compiled variant per value, every size a
/// constant in its text.
pub trait Wgsl: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// Its sizes: `const NAME: u32 = VALUE;` each, before the entry point.
    fn constants(&self) -> Vec<(&'static str, u32)>;
    /// Its own WGSL, after the entry point, in order: it defines
    /// `run_invocation(id: u32)`.
    fn parts(&self) -> Vec<&'static str>;
    /// How many invocations it runs: both `INVOCATIONS` in its text and the
    /// workgroups dispatched, so the two cannot disagree.
    fn invocations(&self) -> u32;
}

/// A kernel's source: its constants and `INVOCATIONS`, the shared entry
/// point, then its parts.
fn source(kernel: &impl Wgsl) -> String {
    let mut constants = kernel.constants();
    constants.push(("INVOCATIONS", kernel.invocations()));
    let mut source: String = constants
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect();
    source.push_str(INVOCATION);
    kernel.parts().iter().for_each(|part| source.push_str(part));
    source
}

/// burn's view of a [`Wgsl`] kernel.
struct Source<K>(K);

impl<K: Wgsl> KernelSource for Source<K> {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(source(&self.0))
    }

    fn id(&self) -> KernelId {
        KernelId::new::<K>().info(self.0)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Runs `kernel` on `like`'s device with `buffers` bound in order.
pub fn launch(kernel: impl Wgsl, like: &CubeTensor, buffers: KernelArguments) {
    let invocations = kernel.invocations();
    like.client.launch(
        Box::new(SourceKernel::new(
            Source(kernel),
            CubeDim::new_1d(WORKGROUP),
        )),
        dispatch(invocations),
        buffers,
    );
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
fn dispatch(invocations: u32) -> CubeCount {
    let workgroups = invocations.div_ceil(WORKGROUP);
    let row = workgroups.clamp(1, MAX_ROW);
    CubeCount::Static(row, workgroups.div_ceil(row).max(1), 1)
}
