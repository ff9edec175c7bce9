//! Regression trees boosted on a logistic model's residual: what a weighted
//! sum of the rescorer's features cannot say (on phantoms' thick slices, a
//! small solid region is a nodule more often, and a ground-glass one less
//! often, than the rescorer fitted on thin and thick slices together says).
//!
//! Each tree splits on the rescorer's features as they are computed (not
//! standardised), a value at or below the threshold going to `below`; its
//! leaves hold what it adds to the logit, the learning rate already applied.
//! Fitted by Newton boosting (each tree fits the gradient and curvature of the
//! log loss at the current logit), on split points taken from each feature's
//! quantiles so that the fit is deterministic and quick.

use crate::rescore::{Features, FEATURES};
use serde::{Deserialize, Serialize};

/// One node of a tree: a split on a feature, or a leaf.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Split {
        /// Index into [`FEATURES`].
        feature: usize,
        threshold: f64,
        /// Indices of the children in the same tree, both after this node.
        below: usize,
        above: usize,
    },
    Leaf(f64),
}

/// Trees whose leaves are summed into a logit.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Boost {
    /// Each tree's nodes, its root first.
    pub trees: Vec<Vec<Node>>,
    /// The sum may only lower a logit (a positive sum counts as 0): the trees
    /// can take confidence from a finding, never give it, so no finding rises
    /// above what the regression they correct says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lowers_only: bool,
}

/// How the trees are grown.
#[derive(Clone, Debug, Serialize)]
pub struct BoostConfig {
    pub trees: usize,
    pub depth: usize,
    pub learning_rate: f64,
    /// The least summed curvature (p (1 − p)) on either side of a split: no
    /// leaf is fitted to a handful of examples.
    pub min_curvature: f64,
    /// L2 penalty on each leaf's value.
    pub l2: f64,
    /// Split points per feature (its quantiles).
    pub split_points: usize,
    /// The features the trees may split on (indices into [`FEATURES`]); all
    /// when empty.
    pub features: Vec<usize>,
    /// The fitted trees may only lower a logit ([`Boost::lowers_only`]). The
    /// fit is the same; the clamp applies when they are used.
    pub lowers_only: bool,
}

impl Default for BoostConfig {
    /// As chosen by four-fold cross-validation by seed over the fitting
    /// phantoms' findings (2026-12-06; see the model card).
    fn default() -> Self {
        Self {
            trees: 200,
            depth: 3,
            learning_rate: 0.05,
            min_curvature: 5.0,
            l2: 1.0,
            split_points: 32,
            features: Vec::new(),
            lowers_only: false,
        }
    }
}

impl Boost {
    /// What the trees add to a logit.
    pub fn logit(&self, f: &Features) -> f64 {
        let sum = self.sum(f);
        if self.lowers_only {
            sum.min(0.0)
        } else {
            sum
        }
    }

    /// The trees' leaves summed.
    fn sum(&self, f: &Features) -> f64 {
        self.trees.iter().map(|tree| leaf_of(tree, f)).sum()
    }

    /// Checks that every tree can be walked: splits on known features, with
    /// children inside the tree and after their parent (so no walk loops).
    pub fn check(&self) -> Result<(), String> {
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.is_empty() {
                return Err(format!("tree {t} is empty"));
            }
            for (i, node) in tree.iter().enumerate() {
                let ok = match *node {
                    Node::Leaf(v) => v.is_finite(),
                    Node::Split {
                        feature,
                        threshold,
                        below,
                        above,
                    } => {
                        feature < FEATURES.len()
                            && threshold.is_finite()
                            && [below, above].iter().all(|&c| c > i && c < tree.len())
                    }
                };
                if !ok {
                    return Err(format!("tree {t}, node {i}: {node:?} cannot be walked"));
                }
            }
        }
        Ok(())
    }

    /// Fits trees to the residual of `base` (each example's logit before the
    /// trees) on labelled examples.
    pub fn fit(examples: &[(Features, bool)], base: &[f64], config: &BoostConfig) -> Self {
        assert_eq!(examples.len(), base.len());
        // Bins are bytes: one more than the split points.
        assert!(config.split_points < usize::from(u8::MAX));
        let mut splits = split_points(examples, config.split_points);
        // A feature the trees may not split on offers no split point.
        for (j, points) in splits.iter_mut().enumerate() {
            if !config.features.is_empty() && !config.features.contains(&j) {
                points.clear();
            }
        }
        // Each example's bin per feature: how many split points lie below its value.
        let bins: Vec<[u8; FEATURES.len()]> = examples
            .iter()
            .map(|(f, _)| std::array::from_fn(|j| splits[j].partition_point(|&t| t < f[j]) as u8))
            .collect();
        let labels: Vec<f64> = examples.iter().map(|e| f64::from(u8::from(e.1))).collect();
        let mut logit = base.to_vec();
        let mut trees = Vec::with_capacity(config.trees);
        let all: Vec<usize> = (0..examples.len()).collect();
        for _ in 0..config.trees {
            let (gradient, curvature): (Vec<f64>, Vec<f64>) = logit
                .iter()
                .zip(&labels)
                .map(|(&l, &y)| {
                    let p = 1.0 / (1.0 + (-l).exp());
                    (p - y, (p * (1.0 - p)).max(1e-6))
                })
                .unzip();
            let grower = Grower {
                bins: &bins,
                splits: &splits,
                gradient: &gradient,
                curvature: &curvature,
                config,
            };
            let mut tree = Vec::new();
            grower.grow(&all, config.depth, &mut tree);
            for (l, (f, _)) in logit.iter_mut().zip(examples) {
                *l += leaf_of(&tree, f);
            }
            trees.push(tree);
        }
        Self {
            trees,
            lowers_only: config.lowers_only,
        }
    }
}

/// The value of the leaf that `f` reaches in `tree`.
fn leaf_of(tree: &[Node], f: &Features) -> f64 {
    let mut at = 0;
    loop {
        match tree[at] {
            Node::Leaf(v) => return v,
            Node::Split {
                feature,
                threshold,
                below,
                above,
            } => {
                at = if f[feature] <= threshold {
                    below
                } else {
                    above
                }
            }
        }
    }
}

/// Each feature's distinct quantiles at `count` evenly spaced levels from the
/// 2nd to the 98th percentile.
fn split_points(examples: &[(Features, bool)], count: usize) -> Vec<Vec<f64>> {
    (0..FEATURES.len())
        .map(|j| {
            let mut values: Vec<f64> = examples.iter().map(|(f, _)| f[j]).collect();
            values.sort_by(f64::total_cmp);
            let mut points: Vec<f64> = (0..count)
                .filter_map(|k| {
                    let q = 0.02 + 0.96 * k as f64 / (count.max(2) - 1) as f64;
                    let at = q * (values.len().max(1) - 1) as f64;
                    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
                    let v = *values.get(lo)? + (values[hi] - values[lo]) * (at - lo as f64);
                    Some(v)
                })
                .collect();
            points.dedup();
            points
        })
        .collect()
}

struct Grower<'a> {
    bins: &'a [[u8; FEATURES.len()]],
    splits: &'a [Vec<f64>],
    gradient: &'a [f64],
    curvature: &'a [f64],
    config: &'a BoostConfig,
}

impl Grower<'_> {
    /// Appends the subtree over `rows` to `tree` and returns its root's index.
    fn grow(&self, rows: &[usize], depth: usize, tree: &mut Vec<Node>) -> usize {
        let at = tree.len();
        let (g, h) = self.sums(rows);
        tree.push(Node::Leaf(
            -g / (h + self.config.l2) * self.config.learning_rate,
        ));
        if depth == 0 {
            return at;
        }
        let Some((feature, bin)) = self.best_split(rows, g, h) else {
            return at;
        };
        let (below, above): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&r| usize::from(self.bins[r][feature]) <= bin);
        let below = self.grow(&below, depth - 1, tree);
        let above = self.grow(&above, depth - 1, tree);
        tree[at] = Node::Split {
            feature,
            threshold: self.splits[feature][bin],
            below,
            above,
        };
        at
    }

    fn sums(&self, rows: &[usize]) -> (f64, f64) {
        rows.iter().fold((0.0, 0.0), |(g, h), &r| {
            (g + self.gradient[r], h + self.curvature[r])
        })
    }

    /// The split (feature, last bin below) that lowers the loss most, if any
    /// leaves enough curvature on both sides.
    fn best_split(&self, rows: &[usize], g: f64, h: f64) -> Option<(usize, usize)> {
        let score = |g: f64, h: f64| g * g / (h + self.config.l2);
        let mut best: Option<(f64, usize, usize)> = None;
        for (feature, points) in self.splits.iter().enumerate() {
            let mut hist = vec![(0.0, 0.0); points.len() + 1];
            for &r in rows {
                let b = &mut hist[usize::from(self.bins[r][feature])];
                b.0 += self.gradient[r];
                b.1 += self.curvature[r];
            }
            let (mut gl, mut hl) = (0.0, 0.0);
            for (bin, &(bg, bh)) in hist.iter().enumerate().take(points.len()) {
                gl += bg;
                hl += bh;
                let (gr, hr) = (g - gl, h - hl);
                if hl < self.config.min_curvature || hr < self.config.min_curvature {
                    continue;
                }
                let gain = score(gl, hl) + score(gr, hr) - score(g, h);
                if gain > best.map_or(1e-12, |b| b.0) {
                    best = Some((gain, feature, bin));
                }
            }
        }
        best.map(|(_, feature, bin)| (feature, bin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(logit: f64, diameter_mm: f64, ground_glass: bool) -> Features {
        let mut f = [0.0; FEATURES.len()];
        f[0] = logit;
        f[2] = diameter_mm.ln();
        f[7] = f64::from(u8::from(ground_glass));
        f
    }

    /// Small solid regions are nodules more often, and ground glass less
    /// often, than the base logit says: the trees learn both, the base alone
    /// ranks them alike.
    #[test]
    fn trees_learn_what_the_base_logit_misses() {
        let mut examples = Vec::new();
        for step in 0..10 {
            let d = 3.5 + f64::from(step) * 0.8;
            for gg in [false, true] {
                for rep in 0..20 {
                    // Half the small solid regions are nodules, no larger one,
                    // and one ground-glass region in ten of any size.
                    let nodule = if gg { rep < 2 } else { d < 5.5 && rep < 10 };
                    examples.push((example(0.0, d, gg), nodule));
                }
            }
        }
        let base = vec![-1.0; examples.len()];
        let boost = Boost::fit(&examples, &base, &BoostConfig::default());
        boost.check().unwrap();
        let small_solid = -1.0 + boost.logit(&example(0.0, 4.5, false));
        let large_solid = -1.0 + boost.logit(&example(0.0, 9.0, false));
        let small_gg = -1.0 + boost.logit(&example(0.0, 4.5, true));
        assert!(small_solid.abs() < 0.5, "{small_solid}");
        assert!(large_solid < -2.0, "{large_solid}");
        assert!(small_gg < -1.5, "{small_gg}");
        // Written and read back, it sums the same (to the float's last digits).
        let back: Boost = serde_json::from_str(&serde_json::to_string(&boost).unwrap()).unwrap();
        assert_eq!(back.trees.len(), 200);
        for f in [example(0.0, 4.5, false), example(0.0, 9.0, true)] {
            assert!((back.logit(&f) - boost.logit(&f)).abs() < 1e-9);
        }
    }

    #[test]
    fn trees_split_only_on_the_features_they_are_given() {
        let examples: Vec<(Features, bool)> = (0..200)
            .map(|i| {
                let gg = i % 2 == 0;
                (example(0.0, 4.0 + (i % 10) as f64, gg), gg && i % 4 == 0)
            })
            .collect();
        let config = BoostConfig {
            trees: 20,
            features: vec![2],
            ..BoostConfig::default()
        };
        let boost = Boost::fit(&examples, &vec![0.0; examples.len()], &config);
        let split_on = |tree: &Vec<Node>| {
            tree.iter()
                .filter_map(|n| match n {
                    Node::Split { feature, .. } => Some(*feature),
                    Node::Leaf(_) => None,
                })
                .collect::<Vec<_>>()
        };
        assert!(boost
            .trees
            .iter()
            .all(|t| split_on(t).iter().all(|&f| f == 2)));
        // Unrestricted, the kind (which decides the label) is split on.
        let free = Boost::fit(
            &examples,
            &vec![0.0; examples.len()],
            &BoostConfig {
                trees: 20,
                ..BoostConfig::default()
            },
        );
        assert!(free.trees.iter().any(|t| split_on(t).contains(&7)));
    }

    #[test]
    fn a_tree_that_cannot_be_walked_is_refused() {
        let leaf = Node::Leaf(0.1);
        let split = |feature, below, above| Node::Split {
            feature,
            threshold: 0.0,
            below,
            above,
        };
        let fine = Boost {
            trees: vec![vec![split(0, 1, 2), leaf.clone(), leaf.clone()]],
            ..Boost::default()
        };
        fine.check().unwrap();
        let mut f = [0.0; FEATURES.len()];
        assert_eq!(fine.logit(&f), 0.1);
        f[0] = 1.0;
        assert_eq!(fine.logit(&f), 0.1);
        for tree in [
            vec![split(0, 0, 1), leaf.clone()],
            vec![split(0, 1, 5), leaf.clone()],
            vec![split(FEATURES.len(), 1, 2), leaf.clone(), leaf.clone()],
            vec![Node::Leaf(f64::NAN)],
            vec![],
        ] {
            let err = Boost {
                trees: vec![tree],
                ..Boost::default()
            }
            .check()
            .unwrap_err();
            assert!(err.contains("tree 0"), "{err}");
        }
    }
}
