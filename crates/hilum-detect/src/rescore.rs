//! The second stage of false-positive reduction: the classifier's logit and
//! the measured nodule's size, shape and attenuation combined by logistic
//! regression into the finding's confidence.
//!
//! The CNN sees a 36 mm patch; the measurement sees the segmented region. The
//! look-alikes the CNN is sure of are elongated or irregular soft tissue
//! (vessel crossings, the hilum, the mediastinum's edge), which the region's
//! elongation and its volume against the sphere of its diameter tell apart.
//! Fitted by `hilum fit-rescorer` on phantom seeds used for nothing else,
//! with the classifier it rescores (the two files live side by side). The
//! terms it reads are named in its file: the features, and with `--pairs`
//! also products of two of them.

use crate::boost::Boost;
use crate::measure::Measurement;
use hilum_core::NoduleKind;
use serde::{Deserialize, Serialize};

/// What the rescorer reads, in this order.
pub const FEATURES: [&str; 9] = [
    "cnn_logit",
    "ln_blob_score",
    "ln_mean_diameter_mm",
    "elongation",
    "ln_compactness",
    "mean_hu_per_1000",
    "part_solid",
    "ground_glass",
    "calcified",
];
pub type Features = [f64; FEATURES.len()];

/// How many of the first features (the logit, the blob response and the
/// measured size, shape and attenuation; not the kind flags) may also enter as
/// products of two, so that what one says can depend on another. Four-fold
/// cross-validation over the fitting seeds (2026-12-03, `--examples`) put
/// them at a proxy CPM +0.005 to +0.009 at 1.5 and 2.5 mm.
pub const PAIRED: usize = 6;

/// The terms a rescorer reads: the features, then (with `pairs`) the product
/// of every two of the first [`PAIRED`], a feature with itself included,
/// named `a*b`.
pub fn terms(pairs: bool) -> Vec<String> {
    let mut names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    if pairs {
        let paired = &FEATURES[..PAIRED];
        for (i, a) in paired.iter().enumerate() {
            names.extend(paired[i..].iter().map(|b| format!("{a}*{b}")));
        }
    }
    names
}

/// The value of the term `name` (a feature, or `a*b`) for features `f`.
fn term(name: &str, f: &Features) -> f64 {
    let at = |n: &str| FEATURES.iter().position(|&k| k == n).map(|i| f[i]);
    match name.split_once('*') {
        Some((a, b)) => at(a).zip(at(b)).map_or(f64::NAN, |(x, y)| x * y),
        None => at(name).unwrap_or(f64::NAN),
    }
}

/// Logits beyond this carry no more information (the CNN saturates).
const LOGIT_LIMIT: f64 = 12.0;

/// The features of one measured candidate: the classifier's logit, the blob
/// filter's response that made it a candidate, and its measurement.
pub fn features(cnn_logit: f64, blob_score: f32, m: &Measurement) -> Features {
    let d = m.mean_diameter_mm.max(0.5);
    let sphere_mm3 = std::f64::consts::PI / 6.0 * d.powi(3);
    // The kind from attenuation alone, as the weights were fitted: ground glass
    // whose solid voxels are vessels rather than a round solid part is reported
    // as ground glass, but weighs here as it did before that was asked.
    let kind = |k: NoduleKind| f64::from(u8::from(m.attenuation_kind == k));
    [
        cnn_logit.clamp(-LOGIT_LIMIT, LOGIT_LIMIT),
        f64::from(blob_score).max(1e-4).ln(),
        d.ln(),
        m.long_axis_mm / m.short_axis_mm.max(0.5) - 1.0,
        (m.volume_mm3 / sphere_mm3).max(0.05).ln(),
        m.mean_hu / 1000.0,
        kind(NoduleKind::PartSolid),
        kind(NoduleKind::GroundGlass),
        kind(NoduleKind::Calcified),
    ]
}

/// Logistic regression on standardised features.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rescorer {
    pub schema: String,
    pub features: Vec<String>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// The classifier's networks (files beside this one) whose mean logit
    /// this was fitted on; none: the one it was loaded beside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Other networks that score scans of thicker slices in place of
    /// `members`, with the rescorer fitted on their findings when there is
    /// one (otherwise this one rescores them too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thick_slices: Option<ThickSlices>,
    /// Trees whose sum is added to the logit: what a weighted sum of the
    /// terms misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boost: Option<Boost>,
    /// How it was fitted (command, seeds, examples): the record, not read back.
    #[serde(default)]
    pub fit: serde_json::Value,
}

/// The networks for scans whose slices lie `from_mm` or more apart.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ThickSlices {
    pub from_mm: f64,
    /// Files beside the rescorer's.
    pub members: Vec<String>,
    /// Fitted on these networks' mean logit on thick slices (`hilum
    /// fit-rescorer --thick-slices`); it names no networks and no thick
    /// slices of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescorer: Option<Box<Rescorer>>,
}

pub const SCHEMA: &str = "hilum.rescorer/1";

impl Rescorer {
    /// The classifier alone: the confidence is the CNN's probability.
    pub fn cnn_only() -> Self {
        let n = FEATURES.len();
        let mut weights = vec![0.0; n];
        weights[0] = 1.0;
        Self {
            schema: SCHEMA.into(),
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            mean: vec![0.0; n],
            scale: vec![1.0; n],
            weights,
            bias: 0.0,
            members: Vec::new(),
            thick_slices: None,
            boost: None,
            fit: serde_json::Value::Null,
        }
    }

    pub fn logit(&self, f: &Features) -> f64 {
        self.linear_logit(f) + self.boost.as_ref().map_or(0.0, |b| b.logit(f))
    }

    /// The logistic regression's logit alone, without the trees.
    pub fn linear_logit(&self, f: &Features) -> f64 {
        self.bias
            + self
                .features
                .iter()
                .enumerate()
                .map(|(j, name)| self.weights[j] * (term(name, f) - self.mean[j]) / self.scale[j])
                .sum::<f64>()
    }

    pub fn confidence(&self, f: &Features) -> f64 {
        1.0 / (1.0 + (-self.logit(f)).exp())
    }

    /// The rescorer for a scan whose slices lie `slice_mm` apart: the one
    /// fitted for thick slices where there is one and the scan's are,
    /// otherwise this.
    pub fn for_slices(&self, slice_mm: f64) -> &Self {
        match &self.thick_slices {
            Some(ThickSlices {
                from_mm,
                rescorer: Some(thick),
                ..
            }) if slice_mm >= *from_mm => thick,
            _ => self,
        }
    }

    /// Parses and checks that it reads the features this build computes.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let r: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        r.check()?;
        if let Some(thick) = r.thick_slices.as_ref().and_then(|t| t.rescorer.as_ref()) {
            thick
                .check()
                .map_err(|e| format!("thick_slices' rescorer: {e}"))?;
            if thick.thick_slices.is_some() || !thick.members.is_empty() {
                return Err(
                    "thick_slices' rescorer names networks or thick slices of its own".into(),
                );
            }
        }
        Ok(r)
    }

    fn check(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!("schema {:?}, expected {SCHEMA:?}", self.schema));
        }
        let n = self.features.len();
        let known = terms(true);
        if self
            .features
            .get(..FEATURES.len())
            .is_none_or(|base| base != FEATURES)
            || !self.features.iter().all(|name| known.contains(name))
            || [&self.mean, &self.scale, &self.weights]
                .iter()
                .any(|v| v.len() != n)
        {
            return Err(format!(
                "features {:?}, expected {FEATURES:?}, optionally followed by products of two of the first {PAIRED}",
                self.features
            ));
        }
        if self
            .scale
            .iter()
            .any(|&s| s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
        {
            return Err("a feature scale is not positive".into());
        }
        if let Some(boost) = &self.boost {
            boost.check()?;
        }
        if let Some(thick) = &self.thick_slices {
            if !(thick.from_mm.is_finite() && thick.from_mm > 0.0) || thick.members.is_empty() {
                return Err(format!(
                    "thick_slices needs a positive from_mm and at least one network, not {:?}",
                    (thick.from_mm, &thick.members)
                ));
            }
        }
        Ok(())
    }

    /// Fits by Newton's method (iteratively reweighted least squares) with an
    /// L2 penalty `l2` on the standardised weights (not the bias), on the
    /// terms named by [`terms`].
    pub fn fit(examples: &[(Features, bool)], l2: f64, names: Vec<String>) -> Result<Self, String> {
        let n = names.len();
        let examples: Vec<(Vec<f64>, bool)> = examples
            .iter()
            .map(|(f, label)| (names.iter().map(|name| term(name, f)).collect(), *label))
            .collect();
        let positives = examples.iter().filter(|e| e.1).count();
        if positives == 0 || positives == examples.len() {
            return Err(format!(
                "{} examples, {positives} positive: need both kinds",
                examples.len()
            ));
        }
        let count = examples.len() as f64;
        let mean: Vec<f64> = (0..n)
            .map(|j| examples.iter().map(|e| e.0[j]).sum::<f64>() / count)
            .collect();
        let scale: Vec<f64> = (0..n)
            .map(|j| {
                let var = examples
                    .iter()
                    .map(|e| (e.0[j] - mean[j]).powi(2))
                    .sum::<f64>()
                    / count;
                var.sqrt().max(1e-6)
            })
            .collect();
        // Rows of standardised features with a trailing 1 for the bias.
        let rows: Vec<Vec<f64>> = examples
            .iter()
            .map(|(f, _)| {
                let mut z: Vec<f64> = (0..n).map(|j| (f[j] - mean[j]) / scale[j]).collect();
                z.push(1.0);
                z
            })
            .collect();
        let mut w = vec![0.0; n + 1];
        for _ in 0..50 {
            let mut grad = vec![0.0; n + 1];
            let mut hess = vec![vec![0.0; n + 1]; n + 1];
            for (z, (_, label)) in rows.iter().zip(&examples) {
                let s: f64 = z.iter().zip(&w).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-s).exp());
                let err = p - f64::from(u8::from(*label));
                let curvature = (p * (1.0 - p)).max(1e-9);
                for a in 0..=n {
                    grad[a] += err * z[a];
                    for b in 0..=n {
                        hess[a][b] += curvature * z[a] * z[b];
                    }
                }
            }
            for a in 0..n {
                grad[a] += l2 * w[a];
                hess[a][a] += l2;
            }
            let step = solve(hess, grad).ok_or("singular system")?;
            let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            for (wa, sa) in w.iter_mut().zip(&step) {
                *wa -= sa;
            }
            if largest < 1e-9 {
                break;
            }
        }
        Ok(Self {
            schema: SCHEMA.into(),
            features: names,
            mean,
            scale,
            weights: w[..n].to_vec(),
            bias: w[n],
            members: Vec::new(),
            thick_slices: None,
            boost: None,
            fit: serde_json::Value::Null,
        })
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(d: f64, long: f64, short: f64, kind: NoduleKind) -> Measurement {
        Measurement {
            long_axis_mm: long,
            short_axis_mm: short,
            mean_diameter_mm: d,
            volume_mm3: std::f64::consts::PI / 6.0 * d.powi(3),
            kind,
            attenuation_kind: kind,
            solid_diameter_mm: None,
            slice_index: 0,
            mean_hu: -20.0,
        }
    }

    #[test]
    fn cnn_only_gives_the_classifier_probability() {
        let r = Rescorer::cnn_only();
        let f = features(2.0, 0.5, &measurement(6.0, 6.0, 6.0, NoduleKind::Solid));
        assert!((r.confidence(&f) - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn fit_learns_that_elongated_blobs_are_not_nodules() {
        // Same CNN logits for both; the nodules are round, the look-alikes
        // elongated: only the shape separates them.
        let mut examples = Vec::new();
        for i in 0..200 {
            let logit = (i % 7) as f64 - 3.0;
            let round = features(logit, 0.5, &measurement(6.0, 6.2, 5.8, NoduleKind::Solid));
            let long = features(logit, 0.5, &measurement(6.0, 8.5, 3.5, NoduleKind::Solid));
            examples.push((round, i % 10 != 0));
            examples.push((long, i % 10 == 0));
        }
        let r = Rescorer::fit(&examples, 1.0, terms(false)).unwrap();
        let round = features(0.0, 0.5, &measurement(6.0, 6.2, 5.8, NoduleKind::Solid));
        let long = features(0.0, 0.5, &measurement(6.0, 8.5, 3.5, NoduleKind::Solid));
        assert!(r.confidence(&round) > 0.8, "{}", r.confidence(&round));
        assert!(r.confidence(&long) < 0.2, "{}", r.confidence(&long));
        // Written and read back, it scores the same (to the float's last digits).
        let back = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
        for f in [round, long] {
            assert!((back.logit(&f) - r.logit(&f)).abs() < 1e-9);
        }
    }

    #[test]
    fn pairs_learn_what_one_feature_means_given_another() {
        // A confident logit marks a nodule on small regions and a look-alike on
        // large ones: no weighted sum of the two separates them, their product does.
        let at =
            |logit: f64, d: f64| features(logit, 0.5, &measurement(d, d, d, NoduleKind::Solid));
        let mut examples = Vec::new();
        for i in 0..100 {
            let jitter = (i % 5) as f64 * 0.1;
            for (logit, d) in [(2.0, 4.0), (-2.0, 4.0), (2.0, 9.0), (-2.0, 9.0)] {
                examples.push((at(logit + jitter, d + jitter), (logit > 0.0) == (d < 6.0)));
            }
        }
        let linear = Rescorer::fit(&examples, 1.0, terms(false)).unwrap();
        let paired = Rescorer::fit(&examples, 1.0, terms(true)).unwrap();
        assert_eq!(
            paired.features.len(),
            FEATURES.len() + PAIRED * (PAIRED + 1) / 2
        );
        for (logit, d) in [(2.0, 4.0), (-2.0, 9.0)] {
            assert!(paired.confidence(&at(logit, d)) > 0.8);
            assert!((linear.confidence(&at(logit, d)) - 0.5).abs() < 0.2);
        }
        for (logit, d) in [(-2.0, 4.0), (2.0, 9.0)] {
            assert!(paired.confidence(&at(logit, d)) < 0.2);
        }
        let back = Rescorer::from_json(&serde_json::to_string(&paired).unwrap()).unwrap();
        assert!((back.logit(&at(2.0, 4.0)) - paired.logit(&at(2.0, 4.0))).abs() < 1e-9);
        // A product of a kind flag is not a term this build computes.
        let mut odd = paired;
        *odd.features.last_mut().unwrap() = "calcified*cnn_logit".into();
        let err = Rescorer::from_json(&serde_json::to_string(&odd).unwrap()).unwrap_err();
        assert!(err.contains("products"), "{err}");
    }

    #[test]
    fn a_rescorer_for_other_features_is_refused() {
        let mut r = Rescorer::cnn_only();
        r.features[1] = "something_else".into();
        let err = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap_err();
        assert!(err.contains("expected"), "{err}");
    }

    #[test]
    fn boosted_trees_add_to_the_logit_and_are_checked_when_read() {
        use crate::boost::Node;
        let mut r = Rescorer::cnn_only();
        // Ground glass (feature 7 above 0.5) loses 1.5, anything else gains 0.25.
        r.boost = Some(Boost {
            trees: vec![vec![
                Node::Split {
                    feature: 7,
                    threshold: 0.5,
                    below: 1,
                    above: 2,
                },
                Node::Leaf(0.25),
                Node::Leaf(-1.5),
            ]],
            lowers_only: false,
        });
        let solid = features(1.0, 0.5, &measurement(6.0, 6.0, 6.0, NoduleKind::Solid));
        let gg = features(
            1.0,
            0.5,
            &measurement(6.0, 6.0, 6.0, NoduleKind::GroundGlass),
        );
        assert_eq!(r.linear_logit(&solid), 1.0);
        assert_eq!(r.logit(&solid), 1.25);
        assert_eq!(r.logit(&gg), -0.5);
        let back = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        // Trees that may only lower a logit take from ground glass, give nothing
        // to the rest, and are read back so.
        if let Some(b) = r.boost.as_mut() {
            b.lowers_only = true;
        }
        assert_eq!(r.logit(&solid), 1.0);
        assert_eq!(r.logit(&gg), -0.5);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"lowers_only\":true"), "{text}");
        assert_eq!(Rescorer::from_json(&text).unwrap(), r);
        if let Some(b) = r.boost.as_mut() {
            b.trees[0][0] = Node::Split {
                feature: 7,
                threshold: 0.5,
                below: 0,
                above: 2,
            };
        }
        let err = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap_err();
        assert!(err.contains("cannot be walked"), "{err}");
    }

    #[test]
    fn networks_for_thick_slices_are_read_back_and_checked() {
        let mut r = Rescorer::cnn_only();
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains("thick_slices"), "absent when there are none");
        r.thick_slices = Some(ThickSlices {
            from_mm: 2.0,
            members: vec!["a.safetensors".into(), "b.safetensors".into()],
            rescorer: None,
        });
        let back = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        // Without a rescorer of their own, theirs is this one at every thickness.
        assert!(std::ptr::eq(r.for_slices(2.5), &r));
        for (from_mm, members) in [(0.0, vec!["a.safetensors".to_string()]), (2.0, vec![])] {
            r.thick_slices = Some(ThickSlices {
                from_mm,
                members,
                rescorer: None,
            });
            let err = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap_err();
            assert!(err.contains("thick_slices"), "{err}");
        }
    }

    #[test]
    fn thick_slices_are_rescored_by_their_own_rescorer_where_there_is_one() {
        let mut thick = Rescorer::cnn_only();
        thick.bias = -3.0;
        let mut r = Rescorer::cnn_only();
        r.thick_slices = Some(ThickSlices {
            from_mm: 2.0,
            members: vec!["a.safetensors".into()],
            rescorer: Some(Box::new(thick.clone())),
        });
        let back = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let f = features(1.0, 0.5, &measurement(6.0, 6.0, 6.0, NoduleKind::Solid));
        assert_eq!(back.for_slices(1.5).logit(&f), 1.0);
        assert_eq!(back.for_slices(1.99).logit(&f), 1.0);
        assert_eq!(back.for_slices(2.0).logit(&f), -2.0);
        assert_eq!(back.for_slices(2.5).logit(&f), -2.0);
        // Checked as the outer one is, and it may not nest further.
        let mut odd = thick.clone();
        odd.features[1] = "something_else".into();
        let mut nested = thick;
        nested.members = vec!["b.safetensors".into()];
        for inner in [odd, nested] {
            if let Some(t) = r.thick_slices.as_mut() {
                t.rescorer = Some(Box::new(inner));
            }
            let err = Rescorer::from_json(&serde_json::to_string(&r).unwrap()).unwrap_err();
            assert!(err.contains("thick_slices' rescorer"), "{err}");
        }
    }
}
