//! The detector's trained parts on disk: the classifier's networks
//! (safetensors, through burn-store) and, beside them, the rescorer fitted
//! on their mean logit (`rescore.json`, which names the networks).

use crate::model::{Classifier, NoduleNet};
use crate::rescore::Rescorer;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// `HILUM_MODEL`, or the weights committed in the repository's `models/`.
pub fn default_path() -> PathBuf {
    std::env::var_os("HILUM_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/detector/nodule_net.safetensors")
        })
}

/// The trained parts, loaded together: the rescorer reads this classifier's
/// logits and is refitted whenever the classifier is retrained.
pub struct Detector {
    pub classifier: Classifier,
    pub rescorer: Rescorer,
}

impl Detector {
    /// Untrained weights and no rescoring (tests of the plumbing).
    pub fn untrained(device: &Device) -> Self {
        Self {
            classifier: Classifier::new(vec![NoduleNet::new(device)]),
            rescorer: Rescorer::cnn_only(),
        }
    }
}

/// The record of the run that trained the network at `weights`
/// (`nodule_net.safetensors` → `nodule_net.training.json`).
pub fn training_record_path(weights: &Path) -> PathBuf {
    weights.with_extension("training.json")
}

/// What a missing file's error adds. A binary finds the weights through the
/// checkout it was built in, so one copied elsewhere (or whose checkout is
/// gone) needs `HILUM_MODEL`.
const WHERE_WEIGHTS_ARE: &str = "set HILUM_MODEL to a nodule_net.safetensors with its rescore.json beside it, or train them with `cargo xtask train detector`";

/// The rescorer's file beside the classifier's weights.
pub fn rescorer_path(weights: &Path) -> PathBuf {
    weights.with_file_name("rescore.json")
}

/// The rescorer beside `path` and the classifier it was fitted on: the
/// networks its `members` name, beside it (the one at `path` when it names none).
pub fn load(path: &Path, device: &Device) -> Result<Detector, String> {
    let rescorer_file = rescorer_path(path);
    let text = std::fs::read_to_string(&rescorer_file)
        .map_err(|e| format!("{}: {e} ({WHERE_WEIGHTS_ARE})", rescorer_file.display()))?;
    let rescorer = Rescorer::from_json(&text)
        .map_err(|e| format!("{}: cannot load the rescorer: {e}", rescorer_file.display()))?;
    let members = if rescorer.members.is_empty() {
        vec![load_net(path, device)?]
    } else {
        rescorer
            .members
            .iter()
            .map(|name| load_net(&path.with_file_name(name), device))
            .collect::<Result<_, _>>()?
    };
    Ok(Detector {
        classifier: Classifier::new(members),
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
    let mut model = NoduleNet::new(device);
    let mut store = SafetensorsStore::from_file(path);
    model
        .load_from(&mut store)
        .map_err(|e| format!("{}: cannot load detector weights: {e}", path.display()))?;
    Ok(model)
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
}
