//! Vocabulary shared by ground truth, the detector and reports.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoduleKind {
    Solid,
    PartSolid,
    GroundGlass,
    Calcified,
}

/// Lung lobes as the contracts spell them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lobe {
    RUL,
    RML,
    RLL,
    LUL,
    LLL,
}

impl fmt::Display for NoduleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Solid => "solid",
            Self::PartSolid => "part-solid",
            Self::GroundGlass => "ground-glass",
            Self::Calcified => "calcified",
        })
    }
}

impl fmt::Display for Lobe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
