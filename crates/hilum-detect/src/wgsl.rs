//! What the hand-written WGSL kernels share (`fused_conv`, `axis_filters`,
//! `axis_resampling`, `blob_strength`): each shader's text assembled from its
//! constants, its sizes read at run time and the one entry point, its launch with the
//! dispatch that entry point expects, burn tensors as their cubecl
//! primitives, and fresh outputs.

use burn::backend::wgpu::{
    into_contiguous, CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate,
};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{KernelArguments, MetadataBindingInfo};
use burn::cubecl::{CubeCount, CubeDim};
use burn::tensor::{DType, Shape, Tensor};
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Invocations per workgroup, as `shaders/invocation.wgsl` declares.
const WORKGROUP: u32 = 64;
/// Workgroups per dispatch row (the smallest per-dimension limit wgpu guarantees).
const MAX_ROW: u32 = 65_535;

/// Every shader's entry point: it numbers invocations as [`dispatch`] lays
/// them out and calls the shader's `run_invocation(id)` for each id below
/// `invocations()`.
const INVOCATION: &str = include_str!("../../../shaders/invocation.wgsl");

/// A hand-written kernel: one compiled variant per distinct text.
pub trait Wgsl: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// Sizes fixed in its text, `const NAME: u32 = VALUE;` each, before the
    /// entry point: each distinct set is a variant, compiled on first use and
    /// kept for the life of the process.
    fn constants(&self) -> Vec<(&'static str, u32)>;
    /// Sizes it reads at run time instead, as `sizes.name` (u32 each) from a
    /// uniform buffer bound after its buffers, and `None` for a kernel that
    /// has none. A volume's dimensions go here: each scan's own, crop and
    /// pyramid levels made the kernels they were constants in new variants
    /// for every scan, and lavapipe's memory grew by about 33 MB a scan of a
    /// batch. With the sizes at run time the invocations' count is one too.
    fn sizes(&self) -> Option<RuntimeSizes> {
        None
    }
    /// Its own WGSL, after the entry point, in order: it defines
    /// `run_invocation(id: u32)`.
    fn parts(&self) -> Vec<&'static str>;
    /// How many invocations it runs: both `invocations()` in its text (a
    /// constant, or `sizes.invocations`) and the workgroups dispatched, so
    /// the two cannot disagree.
    fn invocations(&self) -> u32;
}

/// Sizes a kernel reads at run time ([`Wgsl::sizes`]).
pub struct RuntimeSizes {
    /// The binding of the uniform: the number of the kernel's buffers.
    pub binding: u32,
    pub values: Vec<(&'static str, u32)>,
}

/// The fields of the uniform [`RuntimeSizes`] become, in order: the count of
/// invocations, then the sizes, padded to whole `vec4<u32>`s.
fn size_fields(kernel: &impl Wgsl, sizes: &RuntimeSizes) -> Vec<(&'static str, u32)> {
    let mut fields = vec![("invocations", kernel.invocations())];
    fields.extend(sizes.values.iter().copied());
    let padding = ["pad0", "pad1", "pad2"];
    let missing = fields.len().next_multiple_of(4) - fields.len();
    fields.extend(padding[..missing].iter().map(|&name| (name, 0)));
    fields
}

/// A kernel's source: its constants, how many invocations it runs (a
/// constant, or the uniform of its run-time sizes), the shared entry point,
/// then its parts. Nothing in it depends on a run-time size.
pub(crate) fn source(kernel: &impl Wgsl) -> String {
    let mut source: String = kernel
        .constants()
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect();
    match kernel.sizes() {
        None => source.push_str(&format!(
            "fn invocations() -> u32 {{ return {}u; }}\n",
            kernel.invocations()
        )),
        Some(sizes) => {
            let fields: String = size_fields(kernel, &sizes)
                .iter()
                .map(|(name, _)| format!("    {name}: u32,\n"))
                .collect();
            source.push_str(&format!(
                "struct Sizes {{\n{fields}}}\n\
                 @group(0) @binding({}) var<uniform> sizes: Sizes;\n\
                 fn invocations() -> u32 {{ return sizes.invocations; }}\n",
                sizes.binding
            ));
        }
    }
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

    /// The text itself names the variant: kernels that differ only in their
    /// run-time sizes share one compiled variant.
    fn id(&self) -> KernelId {
        let mut text = DefaultHasher::new();
        source(&self.0).hash(&mut text);
        KernelId::new::<K>().info(text.finish())
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Runs `kernel` on `like`'s device with `buffers` bound in order.
pub fn launch(kernel: impl Wgsl, like: &CubeTensor, buffers: KernelArguments) {
    let invocations = kernel.invocations();
    let buffers = match kernel.sizes() {
        None => buffers,
        Some(sizes) => {
            let values: Vec<u32> = size_fields(&kernel, &sizes)
                .iter()
                .map(|&(_, v)| v)
                .collect();
            buffers.with_info(MetadataBindingInfo::custom(uniform_words(&values)))
        }
    };
    like.client.launch(
        Box::new(SourceKernel::new(
            Source(kernel),
            CubeDim::new_1d(WORKGROUP),
        )),
        dispatch(invocations),
        buffers,
    );
}

/// 32-bit values (u32, or f32 bits) as the 64-bit words a uniform buffer is
/// handed over in, in order, little end first; an odd last one with zero.
pub fn uniform_words(values: &[u32]) -> Vec<u64> {
    values
        .chunks(2)
        .map(|pair| u64::from(pair[0]) | u64::from(pair.get(1).copied().unwrap_or(0)) << 32)
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
/// as `shaders/invocation.wgsl` numbers them.
fn dispatch(invocations: u32) -> CubeCount {
    let workgroups = invocations.div_ceil(WORKGROUP);
    let row = workgroups.clamp(1, MAX_ROW);
    CubeCount::Static(row, workgroups.div_ceil(row).max(1), 1)
}

#[cfg(test)]
mod tests {
    use super::uniform_words;

    #[test]
    fn values_are_handed_over_two_to_a_word_low_half_first() {
        assert_eq!(
            uniform_words(&[1, 2, 3]),
            vec![1 | 2 << 32, 3],
            "an odd last value with zero"
        );
        assert!(uniform_words(&[]).is_empty());
    }
}
