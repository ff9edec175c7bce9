//! Training the candidate classifier on phantoms (`cargo xtask train detector`).
//!
//! Each phantom goes through the same stages as detection (iso volume, lung
//! mask, blob candidates). Candidates within a truth nodule's radius are
//! positives, the rest negatives; each truth centre is added as a positive too,
//! so the classifier also learns the nodules the blob filter ranks low.
//! Batches are balanced, and patches are flipped and their axes permuted at
//! random (a nodule has no preferred orientation); on thick slices, where the
//! patch is blurred along the slice axis alone, that axis can be kept in place
//! ([`TrainConfig::keep_slice_axis`]).

use crate::candidates::find_candidates;
use crate::iso::to_iso;
use crate::lung::lung_mask;
use crate::model::{NoduleNet, PATCH};
use crate::patches::{cut_patches, pad_for_patches};
use crate::{ISO_MM, MASK_FACTOR};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use hilum_core::geometry::{norm, sub};
use hilum_phantom::{generate, PhantomSpec};
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// The phantoms trained on, one scan each.
    pub phantoms: Vec<PhantomSpec>,
    pub candidates_per_scan: usize,
    pub steps: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub sample_seed: u64,
    /// Weights to start from (fine-tuning) instead of a random initialisation.
    pub init: Option<std::path::PathBuf>,
    /// Each truth nodule also cut one voxel off its centre along each axis
    /// ([`TRUTH_SHIFTS`]): seven positives a nodule, so small nodules (a
    /// candidate or two each) weigh as much as large ones (dozens).
    pub truth_shifts: bool,
    /// The share of positives drawn nodule by nodule (0 to 1): such a positive
    /// picks a truth nodule at random, then one of its examples, so a 5 mm
    /// nodule with one or two candidates counts as much as a 25 mm one with
    /// dozens, as a FROC counts them; the rest are drawn example by example.
    pub per_nodule_share: f64,
    /// The share of each half-batch (0 to 1) drawn from the examples the
    /// starting network (`init`) finds hardest: the [`HARDEST_FRACTION`] of
    /// the positives it scores lowest and of the negatives it scores highest.
    /// The FROC at a few false positives a scan turns on those few; drawn
    /// uniformly they are one draw in ten.
    pub hard_share: f64,
    /// Permute the patch's axes within the slice plane only, never moving the
    /// slice axis: on slices thicker than the iso voxels the patch is blurred
    /// along that axis alone, and detection never meets the blur in the plane.
    pub keep_slice_axis: bool,
    /// Output channels of the five layers of a network trained from scratch
    /// (without `init`, whose widths it keeps).
    pub widths: [usize; 5],
}

/// The fraction of each set ranked hardest by the starting network that
/// [`TrainConfig::hard_share`] draws from.
pub const HARDEST_FRACTION: f64 = 0.1;

/// Where a truth nodule's patches are cut with [`TrainConfig::truth_shifts`]:
/// its centre and its six neighbours (iso voxels).
pub const TRUTH_SHIFTS: [[isize; 3]; 7] = [
    [0, 0, 0],
    [-1, 0, 0],
    [1, 0, 0],
    [0, -1, 0],
    [0, 1, 0],
    [0, 0, -1],
    [0, 0, 1],
];

#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub scans: usize,
    pub positives: usize,
    pub negatives: usize,
    pub steps: usize,
    pub final_loss: f64,
    /// Accuracy on the last 20 balanced batches (augmented training data).
    pub recent_accuracy: f64,
    pub seconds: f64,
}

const VOXELS: usize = PATCH * PATCH * PATCH;

struct Examples {
    positives: Vec<Vec<f32>>,
    /// The truth nodule (numbered across phantoms) each positive is cut from.
    nodule_of_positive: Vec<usize>,
    /// Truth nodules collected so far.
    nodules: usize,
    negatives: Vec<Vec<f32>>,
}

impl Examples {
    /// The positives' indices, grouped by the nodule they are cut from.
    fn positives_by_nodule(&self) -> Vec<Vec<usize>> {
        let mut groups = vec![Vec::new(); self.nodules];
        for (i, &n) in self.nodule_of_positive.iter().enumerate() {
            groups[n].push(i);
        }
        groups.retain(|g| !g.is_empty());
        groups
    }
}

fn download(patches: Tensor<5>) -> Vec<Vec<f32>> {
    let flat: Vec<f32> = patches.into_data().try_to_vec().expect("f32");
    flat.chunks(VOXELS).map(<[f32]>::to_vec).collect()
}

fn collect(config: &TrainConfig, spec: &PhantomSpec, device: &Device, into: &mut Examples) {
    let phantom = generate(spec);
    let iso = to_iso(&phantom.volume, device, ISO_MM);
    let mask = lung_mask(&iso.tensor, ISO_MM, MASK_FACTOR);
    let candidates = find_candidates(&iso, &mask, config.candidates_per_scan);
    let padded = pad_for_patches(&iso.tensor);
    let truth: Vec<([f64; 3], f64)> = phantom
        .truth
        .nodules
        .iter()
        .map(|n| (n.center_lps_mm, n.diameter_mm / 2.0))
        .collect();
    // Positives with the (scan's) index of the nodule they are cut from.
    let (mut pos, mut neg): (Vec<([usize; 3], usize)>, _) = (Vec::new(), Vec::new());
    for c in &candidates {
        let distance = |t: &[f64; 3]| norm(sub(*t, c.lps_mm));
        let hit = truth
            .iter()
            .enumerate()
            .filter(|(_, (t, r))| distance(t) <= r.max(2.0))
            .min_by(|(_, (a, _)), (_, (b, _))| distance(a).total_cmp(&distance(b)));
        match hit {
            Some((nodule, _)) => pos.push((c.zyx, nodule)),
            None => neg.push(c.zyx),
        }
    }
    let dims = iso.dims();
    let shifts = if config.truth_shifts {
        &TRUTH_SHIFTS[..]
    } else {
        &TRUTH_SHIFTS[..1]
    };
    for (nodule, (t, _)) in truth.iter().enumerate() {
        if let Some(v) = iso.affine.lps_to_voxel(*t) {
            let centre = [v[2], v[1], v[0]].map(|c| c.round() as isize);
            for shift in shifts {
                let zyx: [isize; 3] = std::array::from_fn(|a| centre[a] + shift[a]);
                if (0..3).all(|a| zyx[a] >= 0 && (zyx[a] as usize) < dims[a]) {
                    pos.push((zyx.map(|c| c as usize), nodule));
                }
            }
        }
    }
    for chunk in pos.chunks(64) {
        let centres: Vec<[usize; 3]> = chunk.iter().map(|(zyx, _)| *zyx).collect();
        into.positives
            .extend(download(cut_patches(&padded, &centres)));
        into.nodule_of_positive
            .extend(chunk.iter().map(|(_, nodule)| into.nodules + nodule));
    }
    into.nodules += truth.len();
    for chunk in neg.chunks(64) {
        into.negatives.extend(download(cut_patches(&padded, chunk)));
    }
}

/// Advances the sampler (xorshift64) and returns its new state.
pub(crate) fn next_random(rng: &mut u64) -> u64 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    *rng
}

/// Axis orders (z, y, x = 0, 1, 2); the first two keep the slice axis first.
const AXIS_ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// A random flip of each axis and a random axis order, or with
/// `keep_slice_axis` an order that leaves the slice axis (z) where it is.
fn augment(patch: &[f32], rng: &mut u64, keep_slice_axis: bool) -> Vec<f32> {
    let mut next = || next_random(rng);
    let r = next();
    let flips = [r & 1 != 0, r & 2 != 0, r & 4 != 0];
    let orders = if keep_slice_axis { 2 } else { 6 };
    let perm = AXIS_ORDERS[((r >> 3) % orders) as usize];
    let mut out = vec![0f32; VOXELS];
    for z in 0..PATCH {
        for y in 0..PATCH {
            for x in 0..PATCH {
                let mut src = [z, y, x];
                for a in 0..3 {
                    if flips[a] {
                        src[a] = PATCH - 1 - src[a];
                    }
                }
                let p = [src[perm[0]], src[perm[1]], src[perm[2]]];
                out[(z * PATCH + y) * PATCH + x] = patch[(p[0] * PATCH + p[1]) * PATCH + p[2]];
            }
        }
    }
    out
}

/// How [`learning_rate`] varies, in words, for the training record.
pub const LEARNING_RATE_SCHEDULE: &str = "÷10 for the last fifth";

/// The learning rate at `step`: constant, then a tenth for the last fifth of
/// the steps, so the weights settle instead of jittering at the end.
fn learning_rate(config: &TrainConfig, step: usize) -> f64 {
    if step * 5 >= config.steps * 4 {
        config.learning_rate / 10.0
    } else {
        config.learning_rate
    }
}

/// True `share` of the time (whether the next positive is drawn nodule by
/// nodule, or the next example from the hardest). A share of 0 or 1 draws
/// nothing from `rng`, so runs with either repeat those made before shares
/// between were possible.
fn by_chance(share: f64, rng: &mut u64) -> bool {
    if share <= 0.0 || share >= 1.0 {
        return share >= 1.0;
    }
    ((next_random(rng) >> 11) as f64 / (1u64 << 53) as f64) < share
}

/// The indices of the `fraction` of `logits` that are hardest: the highest
/// for negatives, the lowest for positives; at least one when any exist.
fn hardest(logits: &[f32], fraction: f64, negatives: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[a].total_cmp(&logits[b]));
    if negatives {
        order.reverse();
    }
    order.truncate(((logits.len() as f64 * fraction).ceil() as usize).max(1));
    order
}

/// The starting network's logit for each example (on `device`, no gradients).
fn score(model: &NoduleNet, examples: &[Vec<f32>], device: &Device) -> Vec<f32> {
    let mut logits = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(64) {
        let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
        let x: Tensor<5> = Tensor::from_data(
            TensorData::new(flat, [chunk.len(), 1, PATCH, PATCH, PATCH]),
            device,
        );
        logits.extend(
            model
                .logits(x)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32"),
        );
    }
    logits
}

/// Trains a classifier on `device` (wrapped for autodiff here), from scratch
/// or from `config.init`.
pub fn train(
    config: &TrainConfig,
    device: &Device,
    progress: &dyn Fn(&str),
) -> Result<(NoduleNet, TrainReport), String> {
    let started = std::time::Instant::now();
    // Loaded first: a wrong path fails now, not after the data are collected.
    let train_device = device.clone().autodiff();
    let mut model = match &config.init {
        Some(path) => crate::weights::load_net(path, &train_device)?,
        None => NoduleNet::with_widths(config.widths, &train_device),
    };
    let mut examples = Examples {
        positives: Vec::new(),
        nodule_of_positive: Vec::new(),
        nodules: 0,
        negatives: Vec::new(),
    };
    for (i, spec) in config.phantoms.iter().enumerate() {
        collect(config, spec, device, &mut examples);
        progress(&format!(
            "phantom {}/{} (seed {}{}): {} positives, {} negatives so far",
            i + 1,
            config.phantoms.len(),
            spec.seed,
            if spec.contrast { ", contrast" } else { "" },
            examples.positives.len(),
            examples.negatives.len()
        ));
    }
    // A batch is half positives, half negatives: without either there is
    // nothing to learn from (phantoms without nodules, say).
    if examples.positives.is_empty() || examples.negatives.is_empty() {
        return Err(format!(
            "the phantoms gave {} positive and {} negative examples; training needs both (are there nodules in them?)",
            examples.positives.len(),
            examples.negatives.len()
        ));
    }
    let by_nodule = examples.positives_by_nodule();
    // The hardest examples by the starting network, positives then negatives.
    let hard: [Vec<usize>; 2] = if config.hard_share > 0.0 {
        if config.init.is_none() {
            return Err("drawing the hardest examples needs a starting network (--init)".into());
        }
        let scorer = model.valid();
        progress("scoring every example with the starting network");
        [
            hardest(
                &score(&scorer, &examples.positives, device),
                HARDEST_FRACTION,
                false,
            ),
            hardest(
                &score(&scorer, &examples.negatives, device),
                HARDEST_FRACTION,
                true,
            ),
        ]
    } else {
        [Vec::new(), Vec::new()]
    };
    let mut optimizer = AdamConfig::new().init();
    let mut rng = config.sample_seed.max(1);
    let half = (config.batch / 2).max(1);
    let (mut last_loss, mut correct, mut seen) = (0.0, 0usize, 0usize);
    for step in 0..config.steps {
        let mut batch = Vec::with_capacity(2 * half * VOXELS);
        let mut labels = Vec::with_capacity(2 * half);
        for (set, label, hard) in [
            (&examples.positives, 1f32, &hard[0]),
            (&examples.negatives, 0f32, &hard[1]),
        ] {
            for _ in 0..half {
                next_random(&mut rng);
                let index = if by_chance(config.hard_share, &mut rng) {
                    hard[(rng % hard.len().max(1) as u64) as usize]
                } else if label > 0.5 && by_chance(config.per_nodule_share, &mut rng) {
                    let group = &by_nodule[(rng % by_nodule.len().max(1) as u64) as usize];
                    group[((rng >> 32) % group.len() as u64) as usize]
                } else {
                    (rng % set.len().max(1) as u64) as usize
                };
                let pick = &set[index];
                batch.extend(augment(pick, &mut rng, config.keep_slice_axis));
                labels.push(label);
            }
        }
        let n = labels.len();
        let x: Tensor<5> = Tensor::from_data(
            TensorData::new(batch, [n, 1, PATCH, PATCH, PATCH]),
            &train_device,
        );
        let y: Tensor<1> = Tensor::from_data(TensorData::new(labels.clone(), [n]), &train_device);
        let z = model.logits(x);
        // Binary cross-entropy on logits, in its numerically stable form.
        let loss = (z.clone().clamp_min(0.0) - z.clone() * y
            + (z.clone().abs().neg().exp() + 1.0).log())
        .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(learning_rate(config, step), model, grads);
        last_loss = f64::from(loss.into_data().try_to_vec::<f32>().expect("f32")[0]);
        if step + 20 >= config.steps {
            let z: Vec<f32> = z.into_data().try_to_vec().expect("f32");
            correct += z
                .iter()
                .zip(&labels)
                .filter(|(z, y)| (**z > 0.0) == (**y > 0.5))
                .count();
            seen += n;
        }
        if step % 50 == 0 || step + 1 == config.steps {
            progress(&format!(
                "step {}/{}: loss {last_loss:.4}",
                step + 1,
                config.steps
            ));
        }
    }
    let report = TrainReport {
        scans: config.phantoms.len(),
        positives: examples.positives.len(),
        negatives: examples.negatives.len(),
        steps: config.steps,
        final_loss: last_loss,
        recent_accuracy: correct as f64 / seen.max(1) as f64,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((model.valid(), report))
}

#[cfg(test)]
mod tests {
    use super::{augment, by_chance, hardest, Examples, PATCH, VOXELS};

    /// A patch that varies along the slice axis (z) alone: each slice one value.
    fn slices_only() -> Vec<f32> {
        (0..VOXELS).map(|i| (i / (PATCH * PATCH)) as f32).collect()
    }

    /// Whether every slice (fixed z) of `patch` holds one value.
    fn varies_along_z_only(patch: &[f32]) -> bool {
        patch
            .chunks(PATCH * PATCH)
            .all(|slice| slice.iter().all(|&v| v == slice[0]))
    }

    #[test]
    fn keeping_the_slice_axis_never_turns_the_slice_profile_into_the_plane() {
        let patch = slices_only();
        let mut rng = 99u64;
        for _ in 0..200 {
            let out = augment(&patch, &mut rng, true);
            assert!(varies_along_z_only(&out));
        }
        // Without it, four draws in six move the slice axis into the plane.
        let moved = (0..600)
            .filter(|_| !varies_along_z_only(&augment(&patch, &mut rng, false)))
            .count();
        assert!((330..470).contains(&moved), "{moved} of 600");
    }

    #[test]
    fn the_hardest_are_the_highest_negatives_and_the_lowest_positives() {
        let logits = [0.5, -2.0, 3.0, 1.0, -0.5, 2.0, 0.0, -1.0, 4.0, -3.0];
        assert_eq!(hardest(&logits, 0.2, true), vec![8, 2]);
        assert_eq!(hardest(&logits, 0.2, false), vec![9, 1]);
        assert_eq!(hardest(&logits, 0.01, true), vec![8], "at least one");
        assert!(hardest(&[], 0.1, true).is_empty());
    }

    #[test]
    fn a_share_is_drawn_by_chance() {
        let mut rng = 17u64;
        assert!(!by_chance(0.0, &mut rng));
        assert!(by_chance(1.0, &mut rng));
        assert_eq!(rng, 17, "a share of 0 or 1 leaves the draws as they were");
        let drawn = (0..10_000).filter(|_| by_chance(0.3, &mut rng)).count();
        assert!((2_800..3_200).contains(&drawn), "{drawn} of 10 000");
    }

    #[test]
    fn positives_are_grouped_by_their_nodule_and_nodules_without_any_left_out() {
        let examples = Examples {
            positives: vec![Vec::new(); 5],
            nodule_of_positive: vec![0, 2, 2, 0, 2],
            nodules: 3,
            negatives: Vec::new(),
        };
        assert_eq!(
            examples.positives_by_nodule(),
            vec![vec![0, 3], vec![1, 2, 4]]
        );
    }
}
