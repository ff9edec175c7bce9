//! The classifier's weights on disk (safetensors, through burn-store).

use crate::model::NoduleNet;
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

pub fn load(path: &Path, device: &Device) -> Result<NoduleNet, String> {
    if !path.is_file() {
        return Err(format!(
            "{}: no detector weights (train them with `cargo xtask train detector`)",
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
