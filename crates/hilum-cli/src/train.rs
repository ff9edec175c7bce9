//! `hilum train`: trains the candidate classifier on phantoms and writes the
//! weights and a training record (driven by `cargo xtask train detector`).

use crate::Outcome;
use hilum_detect::train::{train, TrainConfig};
use hilum_detect::weights;
use std::path::PathBuf;

/// Phantom seeds from here on are held out: training and the rescorer's fit
/// refuse them, and `hilum eval` starts there.
pub const HELD_OUT_SEEDS_FROM: u64 = 5000;

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the weights (NAME.safetensors) and the run's record
    /// (NAME.training.json).
    #[arg(long)]
    out: PathBuf,
    /// The network's name: another member of the classifier trains beside
    /// the first under its own (`cargo xtask train detector` trains two).
    #[arg(long, default_value = "nodule_net")]
    name: String,
    /// Phantom seeds, FIRST..END (end exclusive). Evaluation uses seeds ≥ 5000.
    #[arg(long, default_value = "1000..1032", value_parser = parse_range)]
    seeds: std::ops::Range<u64>,
    #[command(flatten)]
    phantom: PhantomSet,
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Blob candidates taken from each phantom; those off every nodule are the
    /// negatives. More than detection keeps, so the classifier also learns the
    /// weaker look-alikes it meets when the candidate budget is raised (the
    /// shipped networks were trained with 600).
    #[arg(long, default_value_t = 600)]
    candidates: usize,
    /// Fine-tune: start from these weights (their record, if beside them, is
    /// kept in the new one) instead of a random initialisation.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Cut each truth nodule at its centre and at its six neighbours one voxel
    /// away, so that small nodules weigh as much as large ones.
    #[arg(long)]
    truth_shifts: bool,
    /// Draw positives nodule by nodule (a nodule at random, then one of its
    /// examples), so every nodule counts once, as in a FROC, however many
    /// candidates it has. The same as `--per-nodule-share 1`.
    #[arg(long, conflicts_with = "per_nodule_share")]
    per_nodule: bool,
    /// Draw this share of the positives nodule by nodule (0 to 1) and the
    /// rest example by example.
    #[arg(long, value_parser = parse_share)]
    per_nodule_share: Option<f64>,
    /// Draw this share of each half-batch (0 to 1) from the examples the
    /// `--init` network finds hardest: the tenth of the positives it scores
    /// lowest and of the negatives it scores highest.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share, requires = "init")]
    hard_share: f64,
    /// Permute each patch's axes within the slice plane only: for networks
    /// that score thick slices, whose patches are blurred along the slice axis
    /// alone (flips of every axis are still drawn).
    #[arg(long)]
    keep_slice_axis: bool,
    /// Output channels of the network's five layers when trained from scratch
    /// (a fine-tuned network keeps its own). On a GPU the fused kernel takes a
    /// layer whose width is a multiple of 8 while 8 channels' weights fit its
    /// uniform buffer (up to 75 input channels); a network with any other
    /// runs on burn's `conv3d`.
    #[arg(long, value_parser = parse_widths, conflicts_with = "init")]
    widths: Option<[usize; 5]>,
}

/// The phantoms a model is trained and evaluated on: one definition, so that
/// `hilum train` and `hilum eval` draw from the same distribution.
#[derive(clap::Args)]
pub struct PhantomSet {
    #[arg(long, default_value = "384x384x200", value_parser = crate::phantom::parse_dims)]
    pub size: [usize; 3],
    /// Slice spacing and thickness, mm; several (`1.5,2.5`) give each seed
    /// one in turn (seed modulo their count), the number of slices scaled so
    /// that every phantom covers what `--size` covers at the first.
    #[arg(long, default_value = "1.5", value_delimiter = ',', value_parser = parse_slice_mm)]
    pub slice_mm: Vec<f64>,
    #[arg(long, default_value_t = 30.0)]
    pub noise: f32,
    #[arg(long, default_value_t = 12)]
    pub nodules: usize,
    /// Share of the nodules (0–1) redrawn 4–6.5 mm on a vessel (two in
    /// three) or the pleura: phantoms rich in the nodules thick slices hide
    /// best, to train on. Every held-out set so far was drawn at 0.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub small_attached_share: f64,
    /// The heart beats while the slices are taken: its border blurred and
    /// stepped from slice to slice, a band like ground glass beside it, to
    /// train on. Every held-out set so far was drawn with a still heart.
    #[arg(long)]
    pub cardiac_motion: bool,
    /// Share of the phantoms (0–1) drawn with intravenous contrast: those
    /// whose seed's hash falls below it, the same seeds for every command.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub contrast_share: f64,
}

impl PhantomSet {
    /// The phantom of `seed` in this set.
    pub fn spec(&self, seed: u64) -> hilum_phantom::PhantomSpec {
        let slice_mm = self.slice_mm[(seed % self.slice_mm.len() as u64) as usize];
        let [x, y, z] = self.size;
        let slices = ((z as f64 * self.slice_mm[0] / slice_mm).round() as usize).max(1);
        hilum_phantom::PhantomSpec {
            dims: [x, y, slices],
            slice_mm,
            noise_hu: self.noise,
            nodules: self.nodules,
            small_attached_share: self.small_attached_share as f32,
            cardiac_motion: self.cardiac_motion,
            contrast: contrast_hash(seed) < self.contrast_share,
            ..hilum_phantom::PhantomSpec::standard(seed)
        }
    }

    /// How the set is described in a training, fitting or evaluation record,
    /// with the generator that drew it (a seed's scan changes with it).
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({ "size": self.size, "slice_mm": self.slice_mm, "noise_hu": self.noise, "nodules": self.nodules, "small_attached_share": self.small_attached_share, "cardiac_motion": self.cardiac_motion, "contrast_share": self.contrast_share, "generation": hilum_phantom::GENERATION })
    }
}

/// A seed's place in [0, 1), spread evenly over consecutive seeds (the
/// golden ratio's fractional multiples), so any range of seeds gets its share
/// of enhanced phantoms.
fn contrast_hash(seed: u64) -> f64 {
    (seed as f64 * 0.618_033_988_749_895).fract()
}

fn parse_slice_mm(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.3..=10.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} mm is outside 0.3–10 mm")),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is outside 0–1")),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_widths(s: &str) -> Result<[usize; 5], String> {
    let widths = s
        .split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(0) => Err("a layer needs a channel".to_string()),
            Ok(w) => Ok(w),
            Err(e) => Err(format!("{w}: {e}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    widths
        .try_into()
        .map_err(|w: Vec<usize>| format!("five widths, one per layer, not {}", w.len()))
}

pub fn parse_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s.split_once("..").ok_or("expected FIRST..END")?;
    let (a, b) = (
        a.parse::<u64>().map_err(|e| e.to_string())?,
        b.parse::<u64>().map_err(|e| e.to_string())?,
    );
    if a >= b {
        return Err("empty range".into());
    }
    Ok(a..b)
}

/// The share of positives drawn nodule by nodule that the flags ask for.
fn per_nodule_share(args: &Args) -> f64 {
    match (args.per_nodule, args.per_nodule_share) {
        (true, _) => 1.0,
        (false, share) => share.unwrap_or(0.0),
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if args.seeds.end > HELD_OUT_SEEDS_FROM {
        anyhow::bail!(
            "training seeds must stay below {HELD_OUT_SEEDS_FROM}: seeds from there on are held out for evaluation"
        );
    }
    let device = hilum_gpu::choose().map_err(|e| anyhow::anyhow!(e))?;
    eprintln!("training on {}", device.label);
    let config = TrainConfig {
        phantoms: args.seeds.clone().map(|s| args.phantom.spec(s)).collect(),
        candidates_per_scan: args.candidates,
        steps: args.steps,
        batch: args.batch,
        learning_rate: args.lr,
        sample_seed: 17,
        init: args.init.clone(),
        truth_shifts: args.truth_shifts,
        per_nodule_share: per_nodule_share(&args),
        hard_share: args.hard_share,
        keep_slice_axis: args.keep_slice_axis,
        widths: args.widths.unwrap_or(hilum_detect::model::WIDTHS),
    };
    // Read before training: `--out` may be the folder `--init` comes from.
    let init_record = args.init.as_ref().map(|path| {
        let beside = weights::training_record_path(path);
        let record = std::fs::read_to_string(&beside)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        serde_json::json!({ "weights": path.display().to_string(), "training": record })
    });
    let (model, report) = train(&config, &device.device, &|line| eprintln!("{line}"))
        .map_err(|e| anyhow::anyhow!(e))?;
    let path = args.out.join(format!("{}.safetensors", args.name));
    weights::save(&model, &path).map_err(|e| anyhow::anyhow!(e))?;
    let record = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "device": device.label,
        "seeds": format!("{}..{}", args.seeds.start, args.seeds.end),
        "phantom": args.phantom.record(),
        "hyper_parameters": {
            "candidates_per_scan": args.candidates,
            "learning_rate_schedule": hilum_detect::train::LEARNING_RATE_SCHEDULE,
            "steps": args.steps,
            "batch": args.batch,
            "learning_rate": args.lr,
            "optimizer": "Adam",
            "loss": "binary cross-entropy on logits",
            "patch": hilum_detect::model::PATCH,
            "widths": model.widths(),
            "iso_mm": hilum_detect::ISO_MM,
            "truth_positives_at_voxel_shifts": if args.truth_shifts {
                &hilum_detect::train::TRUTH_SHIFTS[..]
            } else {
                &hilum_detect::train::TRUTH_SHIFTS[..1]
            },
            "positives_drawn": match per_nodule_share(&args) {
                s if s >= 1.0 => "nodule by nodule".to_string(),
                s if s <= 0.0 => "example by example".to_string(),
                s => format!("nodule by nodule for a share of {s}, the rest example by example"),
            },
            "axes_permuted": if args.keep_slice_axis {
                "within the slice plane (the slice axis kept)"
            } else {
                "all three"
            },
            "hardest_drawn": if args.hard_share > 0.0 {
                format!(
                    "a share of {} of each half-batch from the {} of its examples the starting network scores worst",
                    args.hard_share,
                    hilum_detect::train::HARDEST_FRACTION
                )
            } else {
                "none".to_string()
            },
        },
        "report": report,
        "init": init_record,
    });
    let record_path = weights::training_record_path(&path);
    let tmp = record_path.with_extension("partial");
    std::fs::write(&tmp, serde_json::to_string_pretty(&record)? + "\n")?;
    std::fs::rename(&tmp, &record_path)?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enhanced(share: f64, seeds: std::ops::Range<u64>) -> usize {
        let set = PhantomSet {
            size: [64, 64, 32],
            slice_mm: vec![1.5],
            noise: 30.0,
            nodules: 12,
            small_attached_share: 0.0,
            cardiac_motion: false,
            contrast_share: share,
        };
        seeds.filter(|&s| set.spec(s).contrast).count()
    }

    #[test]
    fn a_contrast_share_enhances_that_share_of_any_seed_range() {
        assert_eq!(enhanced(0.0, 1000..1032), 0);
        assert_eq!(enhanced(1.0, 1000..1032), 32);
        assert_eq!(enhanced(0.5, 1000..1032), 16);
        assert_eq!(enhanced(0.5, 2000..2032), 16);
        assert_eq!(enhanced(0.5, 8000..8020), 10);
        assert!(parse_share("1.5").is_err() && parse_share("-0.1").is_err());
    }

    #[test]
    fn widths_are_five_channel_counts() {
        assert_eq!(parse_widths("8,16,48,64,96"), Ok([8, 16, 48, 64, 96]));
        assert!(parse_widths("8,16,32,32")
            .unwrap_err()
            .contains("five widths"));
        assert!(parse_widths("8,0,32,32,64").is_err());
        assert!(parse_widths("8,16,x,32,64").is_err());
    }

    #[test]
    fn per_nodule_is_a_share_of_one_and_the_two_flags_exclude_each_other() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let share = |flags: &[&str]| {
            let argv = ["train", "--out", "x", "--seeds", "1000..1002"];
            Cli::try_parse_from(argv.iter().chain(flags)).map(|cli| per_nodule_share(&cli.args))
        };
        assert_eq!(share(&[]).unwrap(), 0.0);
        assert_eq!(share(&["--per-nodule"]).unwrap(), 1.0);
        assert_eq!(share(&["--per-nodule-share", "0.5"]).unwrap(), 0.5);
        assert!(share(&["--per-nodule", "--per-nodule-share", "0.5"]).is_err());
        assert!(share(&["--per-nodule-share", "2"]).is_err());
    }

    #[test]
    fn several_slice_thicknesses_take_turns_by_seed_and_cover_the_same_length() {
        let set = PhantomSet {
            size: [64, 64, 200],
            slice_mm: vec![1.5, 2.5],
            noise: 30.0,
            nodules: 12,
            small_attached_share: 0.0,
            cardiac_motion: false,
            contrast_share: 0.0,
        };
        let (even, odd) = (set.spec(1000), set.spec(1001));
        assert_eq!((even.slice_mm, even.dims[2]), (1.5, 200));
        assert_eq!((odd.slice_mm, odd.dims[2]), (2.5, 120));
        assert!(parse_slice_mm("0").is_err() && parse_slice_mm("2.5").is_ok());
    }
}
