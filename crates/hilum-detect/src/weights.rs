//! The detector's trained parts: the classifier's networks (safetensors,
//! through burn-store) and, beside them, the rescorer fitted on their mean
//! logit (`rescore.json`, which names the networks). The committed ones in
//! `models/detector/` are compiled into every binary, so an installed app or
//! a copied `hilum` carries the model it was built and evaluated with;
//! `HILUM_MODEL` points a binary at others on disk.

use crate::model::{Classifier, NoduleNet};
use crate::rescore::{Rescorer, ThickSlices};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// The committed networks in this checkout's `models/`: where training and
/// rescorer fitting read and write (binaries load the copies built into them).
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/detector/nodule_net.safetensors")
}

/// The files of `models/detector/` this binary was built with, by the names
/// `rescore.json` gives them.
mod built_in {
    pub const RESCORER: &str = include_str!("../../../models/detector/rescore.json");
    pub const NETWORKS: &[(&str, &[u8])] = &[
        (
            "nodule_net.safetensors",
            include_bytes!("../../../models/detector/nodule_net.safetensors"),
        ),
        (
            "nodule_net-2.safetensors",
            include_bytes!("../../../models/detector/nodule_net-2.safetensors"),
        ),
        (
            "nodule_net-3.safetensors",
            include_bytes!("../../../models/detector/nodule_net-3.safetensors"),
        ),
        (
            "nodule_net-4.safetensors",
            include_bytes!("../../../models/detector/nodule_net-4.safetensors"),
        ),
        (
            "nodule_net-5.safetensors",
            include_bytes!("../../../models/detector/nodule_net-5.safetensors"),
        ),
        (
            "nodule_net-6.safetensors",
            include_bytes!("../../../models/detector/nodule_net-6.safetensors"),
        ),
    ];

    /// FNV-1a over the rescorer and the networks: names the exact model in
    /// reports, as a commit would.
    pub fn fingerprint() -> u64 {
        let bytes = std::iter::once(RESCORER.as_bytes()).chain(NETWORKS.iter().map(|(_, b)| *b));
        bytes.flatten().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

/// Where a binary's detector comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled in from `models/detector/`.
    BuiltIn,
    /// A `nodule_net.safetensors` with its `rescore.json` beside it.
    Files(PathBuf),
}

impl Source {
    /// `HILUM_MODEL` when set, the built-in detector otherwise.
    pub fn from_env() -> Self {
        match std::env::var_os("HILUM_MODEL") {
            Some(path) if !path.is_empty() => Self::Files(PathBuf::from(path)),
            _ => Self::BuiltIn,
        }
    }

    /// For progress lines and reports.
    pub fn describe(&self) -> String {
        match self {
            Self::BuiltIn => {
                let networks = match Rescorer::from_json(built_in::RESCORER) {
                    Ok(r) => networks_summary(r.members.len().max(1), r.thick_slices.as_ref()),
                    Err(_) => format!("{} networks", built_in::NETWORKS.len()),
                };
                format!(
                    "built in from models/detector ({networks}, fingerprint {:016x})",
                    built_in::fingerprint()
                )
            }
            Self::Files(path) => format!("{} (HILUM_MODEL)", path.display()),
        }
    }

    pub fn load(&self, device: &Device) -> Result<Detector, String> {
        match self {
            Self::BuiltIn => load_built_in(device),
            Self::Files(path) => load(path, device),
        }
    }
}

/// The trained parts, loaded together: the rescorer reads this classifier's
/// logits and is refitted whenever the classifier is retrained.
pub struct Detector {
    pub classifier: Classifier,
    /// Scores scans whose slices lie at least this many millimetres apart, in
    /// place of `classifier` (`rescore.json`'s `thick_slices`).
    pub thick_slice_classifier: Option<(f64, Classifier)>,
    pub rescorer: Rescorer,
}

impl Detector {
    /// Untrained weights and no rescoring (tests of the plumbing).
    pub fn untrained(device: &Device) -> Self {
        Self {
            classifier: Classifier::new(vec![NoduleNet::new(device)]),
            thick_slice_classifier: None,
            rescorer: Rescorer::cnn_only(),
        }
    }

    /// The classifier that scores a scan whose slices lie `slice_mm` apart.
    pub fn classifier_for(&self, slice_mm: f64) -> &Classifier {
        match &self.thick_slice_classifier {
            Some((from_mm, thick)) if slice_mm >= *from_mm => thick,
            _ => &self.classifier,
        }
    }

    /// The rescorer of a scan whose slices lie `slice_mm` apart: fitted on
    /// the findings of [`Self::classifier_for`] that scan where there is one.
    pub fn rescorer_for(&self, slice_mm: f64) -> &Rescorer {
        self.rescorer.for_slices(slice_mm)
    }
}

/// "2 networks", or "2 networks; 4 for slices 2 mm apart or more" (", with
/// their own rescorer" where they have one).
fn networks_summary(members: usize, thick: Option<&ThickSlices>) -> String {
    match thick {
        Some(t) => format!(
            "{members} networks; {} for slices {} mm apart or more{}",
            t.members.len(),
            t.from_mm,
            if t.rescorer.is_some() {
                ", with their own rescorer"
            } else {
                ""
            }
        ),
        None => format!("{members} networks"),
    }
}

/// The record of the run that trained the network at `weights`
/// (`nodule_net.safetensors` → `nodule_net.training.json`).
pub fn training_record_path(weights: &Path) -> PathBuf {
    weights.with_extension("training.json")
}

/// What a missing file's error adds.
const WHERE_WEIGHTS_ARE: &str = "HILUM_MODEL must name a nodule_net.safetensors with its rescore.json beside it; unset, Hilum uses the detector built into it";

/// The rescorer's file beside the classifier's weights.
pub fn rescorer_path(weights: &Path) -> PathBuf {
    weights.with_file_name("rescore.json")
}

/// The rescorer beside `path` and the classifier it was fitted on: the
/// networks its `members` name, beside it (the one at `path` when it names
/// none), and those for thicker slices that its `thick_slices` name.
pub fn load(path: &Path, device: &Device) -> Result<Detector, String> {
    let rescorer_file = rescorer_path(path);
    let text = std::fs::read_to_string(&rescorer_file)
        .map_err(|e| format!("{}: {e} ({WHERE_WEIGHTS_ARE})", rescorer_file.display()))?;
    let rescorer = Rescorer::from_json(&text)
        .map_err(|e| format!("{}: cannot load the rescorer: {e}", rescorer_file.display()))?;
    let first = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assemble(rescorer, first, |name| {
        load_net(&path.with_file_name(name), device)
    })
}

/// The detector compiled into this binary, assembled as [`load`] does.
pub fn load_built_in(device: &Device) -> Result<Detector, String> {
    let rescorer = Rescorer::from_json(built_in::RESCORER)
        .map_err(|e| format!("built-in rescore.json: cannot load the rescorer: {e}"))?;
    assemble(rescorer, "nodule_net.safetensors", |name| {
        let (_, bytes) = built_in::NETWORKS
            .iter()
            .find(|(built, _)| *built == name)
            .ok_or_else(|| {
                format!("built-in rescore.json names {name}, which is not built in (list it in weights.rs)")
            })?;
        net_from(bytes.to_vec(), device).map_err(|e| format!("built-in {name}: {e}"))
    })
}

/// The rescorer with the networks its `members` name (`first` alone when it
/// names none) and those its `thick_slices` name, each from `net`.
fn assemble(
    rescorer: Rescorer,
    first: &str,
    net: impl Fn(&str) -> Result<NoduleNet, String>,
) -> Result<Detector, String> {
    let nets = |names: &[String]| {
        names
            .iter()
            .map(|name| net(name))
            .collect::<Result<Vec<_>, _>>()
    };
    let members = if rescorer.members.is_empty() {
        vec![net(first)?]
    } else {
        nets(&rescorer.members)?
    };
    let thick_slice_classifier = match &rescorer.thick_slices {
        Some(thick) => Some((thick.from_mm, Classifier::new(nets(&thick.members)?))),
        None => None,
    };
    Ok(Detector {
        classifier: Classifier::new(members),
        thick_slice_classifier,
        rescorer,
    })
}

/// The classifier alone.
pub fn load_net(path: &Path, device: &Device) -> Result<NoduleNet, String> {
    if !path.is_file() {
        return Err(format!(
            "{}: no detector weights ({WHERE_WEIGHTS_ARE})",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    net_from(bytes, device).map_err(|e| format!("{}: {e}", path.display()))
}

/// A network from a safetensors file's bytes, as wide as its weights say.
fn net_from(bytes: Vec<u8>, device: &Device) -> Result<NoduleNet, String> {
    let widths = widths_in(&bytes)?;
    let mut model = NoduleNet::with_widths(widths, device);
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    model
        .load_from(&mut store)
        .map_err(|e| format!("cannot load detector weights: {e}"))?;
    Ok(model)
}

/// The output channels of the five layers, from the shapes in a safetensors
/// header (8 bytes of little-endian length, then JSON).
fn widths_in(bytes: &[u8]) -> Result<[usize; 5], String> {
    let not_weights = |why: &str| format!("not detector weights ({why})");
    let length = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or_else(|| not_weights("shorter than a safetensors header"))?;
    let header: serde_json::Value = bytes
        .get(8..8usize.saturating_add(length))
        .and_then(|h| serde_json::from_slice(h).ok())
        .ok_or_else(|| not_weights("no readable safetensors header"))?;
    let mut widths = [0; 5];
    for (i, width) in widths.iter_mut().enumerate() {
        let name = format!("c{}.weight", i + 1);
        *width = header[&name]["shape"][0]
            .as_u64()
            .filter(|&w| w > 0)
            .ok_or_else(|| not_weights(&format!("no {name}")))? as usize;
    }
    Ok(widths)
}

/// Saves atomically (temporary name, then rename).
pub fn save(model: &NoduleNet, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("safetensors.partial");
    let mut store = SafetensorsStore::from_file(&tmp);
    model
        .save_into(&mut store)
        .map_err(|e| format!("{}: cannot save weights: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the rescorer beside the weights at `weights`, atomically.
pub fn save_rescorer(rescorer: &Rescorer, weights: &Path) -> Result<PathBuf, String> {
    let path = rescorer_path(weights);
    let tmp = path.with_extension("json.partial");
    let text = serde_json::to_string_pretty(rescorer).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_weights_are_named_with_how_to_point_at_others() {
        let device = hilum_gpu::cpu_backend().device;
        let path = Path::new("/nonexistent/hilum/nodule_net.safetensors");
        let Err(e) = load(path, &device) else {
            panic!("loaded weights from nowhere")
        };
        assert!(e.starts_with("/nonexistent/hilum/rescore.json: "), "{e}");
        assert!(e.contains("HILUM_MODEL"), "{e}");
        let Err(e) = load_net(path, &device) else {
            panic!("loaded weights from nowhere")
        };
        assert!(e.starts_with(&format!("{}: ", path.display())), "{e}");
        assert!(e.contains("HILUM_MODEL"), "{e}");
    }

    #[test]
    fn the_built_in_detector_is_the_one_committed_in_models() {
        use crate::model::PATCH;
        use burn::tensor::{Tensor, TensorData};
        let device = hilum_gpu::cpu_backend().device;
        let built_in = load_built_in(&device).expect("built-in detector");
        let committed = load(&default_path(), &device).expect("committed detector");
        assert_eq!(built_in.rescorer, committed.rescorer);
        assert_eq!(
            built_in.classifier.member_count(),
            committed.classifier.member_count()
        );
        let n = PATCH * PATCH * PATCH * 2;
        let voxels: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let patches = || {
            Tensor::<5>::from_data(
                TensorData::new(voxels.clone(), [2, 1, PATCH, PATCH, PATCH]),
                &device,
            )
        };
        let logits = |d: &Detector, slice_mm: f64| -> Vec<f32> {
            d.classifier_for(slice_mm)
                .logits(patches())
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        for slice_mm in [1.5, 2.5] {
            assert_eq!(
                logits(&built_in, slice_mm),
                logits(&committed, slice_mm),
                "{slice_mm} mm"
            );
        }
    }

    #[test]
    fn a_network_of_other_widths_loads_as_wide_as_it_was_saved() {
        use crate::model::{PATCH, WIDTHS};
        use burn::tensor::{Tensor, TensorData};
        let device = hilum_gpu::cpu_backend().device;
        let widths = [8, 16, 48, 64, 96];
        let wide = NoduleNet::with_widths(widths, &device);
        let dir = std::env::temp_dir().join(format!("hilum-widths-{}", std::process::id()));
        let path = dir.join("wide.safetensors");
        save(&wide, &path).unwrap();
        let loaded = load_net(&path, &device).unwrap();
        assert_eq!(loaded.widths(), widths);
        let x = Tensor::<5>::from_data(
            TensorData::new(
                (0..PATCH * PATCH * PATCH)
                    .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
                    .collect::<Vec<f32>>(),
                [1, 1, PATCH, PATCH, PATCH],
            ),
            &device,
        );
        let logit =
            |n: &NoduleNet| -> Vec<f32> { n.logits(x.clone()).into_data().try_to_vec().unwrap() };
        assert_eq!(logit(&loaded), logit(&wide));
        // The shipped networks keep their widths.
        let shipped = load_net(&default_path(), &device).unwrap();
        assert_eq!(shipped.widths(), WIDTHS);
        // Bytes that are no safetensors are refused, not read as zeros.
        let junk = dir.join("junk.safetensors");
        std::fs::write(&junk, b"\x10\0\0\0\0\0\0\0{not json at all}").unwrap();
        let Err(e) = load_net(&junk, &device) else {
            panic!("loaded junk")
        };
        assert!(e.contains("not detector weights"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scans_of_thick_slices_are_scored_by_their_own_networks() {
        let device = hilum_gpu::cpu_backend().device;
        let mut detector = Detector::untrained(&device);
        assert_eq!(detector.classifier_for(2.5).member_count(), 1);
        let nets = (0..3).map(|_| NoduleNet::new(&device)).collect();
        detector.thick_slice_classifier = Some((2.0, Classifier::new(nets)));
        for (slice_mm, members) in [
            (0.625, 1),
            (1.5, 1),
            (1.99, 1),
            (2.0, 3),
            (2.5, 3),
            (5.0, 3),
        ] {
            assert_eq!(
                detector.classifier_for(slice_mm).member_count(),
                members,
                "{slice_mm} mm"
            );
        }
    }
}
