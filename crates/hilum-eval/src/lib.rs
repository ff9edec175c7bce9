//! How good is the detector? FROC and CPM by the LUNA16 rules, against ground
//! truth from phantoms (`truth.json`) or LIDC-IDRI reader annotations.

pub mod froc;
pub mod lidc;

pub use froc::{
    best_hits, classify, froc, Detection, Froc, Outcome, ScanTruth, TruthNodule, FP_RATES,
};
