//! Lung-RADS v2022 at baseline screening, from measured nodule sizes.
//!
//! | cat | solid | part-solid | ground-glass |
//! |---|---|---|---|
//! | 2 | < 6 | < 6 total | < 30 |
//! | 3 | 6 to < 8 | ≥ 6 total, solid part < 6 | ≥ 30 |
//! | 4A | 8 to < 15 | solid part 6 to < 8 | – |
//! | 4B | ≥ 15 | solid part ≥ 8 | – |
//!
//! Category 1: no nodules, or benign (calcified) nodules. Sizes are mean
//! diameters in mm, rounded to one decimal as Lung-RADS prescribes. 4X (4A/4B
//! with additional suspicious features) is a reader's call and never assigned here.

use crate::findings::NoduleKind;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LungRads {
    #[serde(rename = "1")]
    C1,
    #[serde(rename = "2")]
    C2,
    #[serde(rename = "3")]
    C3,
    #[serde(rename = "4A")]
    C4A,
    #[serde(rename = "4B")]
    C4B,
    #[serde(rename = "4X")]
    C4X,
}

impl fmt::Display for LungRads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::C1 => "1",
            Self::C2 => "2",
            Self::C3 => "3",
            Self::C4A => "4A",
            Self::C4B => "4B",
            Self::C4X => "4X",
        })
    }
}

impl LungRads {
    /// The management Lung-RADS v2022 recommends for the category.
    pub fn management(self) -> &'static str {
        match self {
            Self::C1 | Self::C2 => "12-month low-dose CT",
            Self::C3 => "6-month low-dose CT",
            Self::C4A => "3-month low-dose CT; PET/CT may be used if the solid component is ≥ 8 mm",
            Self::C4B | Self::C4X => "diagnostic chest CT, PET/CT and/or tissue sampling",
        }
    }
}

/// Lung-RADS rounds to one decimal before comparing.
fn round1(mm: f64) -> f64 {
    (mm * 10.0).round() / 10.0
}

/// The category one nodule gives, from its kind, mean diameter and (for
/// part-solid nodules) the mean diameter of its solid part.
pub fn categorize(
    kind: NoduleKind,
    mean_diameter_mm: f64,
    solid_diameter_mm: Option<f64>,
) -> LungRads {
    let d = round1(mean_diameter_mm);
    match kind {
        NoduleKind::Calcified => LungRads::C1,
        NoduleKind::Solid => match d {
            d if d < 6.0 => LungRads::C2,
            d if d < 8.0 => LungRads::C3,
            d if d < 15.0 => LungRads::C4A,
            _ => LungRads::C4B,
        },
        NoduleKind::PartSolid => {
            let solid = round1(solid_diameter_mm.unwrap_or(0.0));
            if d < 6.0 {
                LungRads::C2
            } else if solid < 6.0 {
                LungRads::C3
            } else if solid < 8.0 {
                LungRads::C4A
            } else {
                LungRads::C4B
            }
        }
        NoduleKind::GroundGlass => {
            if d < 30.0 {
                LungRads::C2
            } else {
                LungRads::C3
            }
        }
    }
}

/// The study's category: the most suspicious nodule's, or 1 with none.
pub fn study_category(nodules: impl IntoIterator<Item = LungRads>) -> LungRads {
    nodules.into_iter().max().unwrap_or(LungRads::C1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NoduleKind::*;

    #[test]
    fn solid_thresholds() {
        let cases = [
            (5.9, LungRads::C2),
            (5.95, LungRads::C3), // rounds to 6.0
            (6.0, LungRads::C3),
            (7.9, LungRads::C3),
            (8.0, LungRads::C4A),
            (14.9, LungRads::C4A),
            (15.0, LungRads::C4B),
            (30.0, LungRads::C4B),
        ];
        for (d, expected) in cases {
            assert_eq!(categorize(Solid, d, Some(d)), expected, "{d} mm");
        }
    }

    #[test]
    fn part_solid_uses_the_solid_part() {
        assert_eq!(categorize(PartSolid, 5.0, Some(3.0)), LungRads::C2);
        assert_eq!(categorize(PartSolid, 12.0, Some(5.9)), LungRads::C3);
        assert_eq!(categorize(PartSolid, 12.0, Some(6.0)), LungRads::C4A);
        assert_eq!(categorize(PartSolid, 12.0, Some(7.9)), LungRads::C4A);
        assert_eq!(categorize(PartSolid, 20.0, Some(8.0)), LungRads::C4B);
    }

    #[test]
    fn ground_glass_and_calcified() {
        assert_eq!(categorize(GroundGlass, 29.9, None), LungRads::C2);
        assert_eq!(categorize(GroundGlass, 30.0, None), LungRads::C3);
        assert_eq!(categorize(Calcified, 25.0, Some(25.0)), LungRads::C1);
    }

    #[test]
    fn study_takes_the_worst_and_serialises_as_the_contract_spells_it() {
        assert_eq!(study_category([]), LungRads::C1);
        assert_eq!(
            study_category([LungRads::C2, LungRads::C4A, LungRads::C3]),
            LungRads::C4A
        );
        assert_eq!(serde_json::to_string(&LungRads::C4A).unwrap(), "\"4A\"");
        assert_eq!(LungRads::C3.management(), "6-month low-dose CT");
    }
}
