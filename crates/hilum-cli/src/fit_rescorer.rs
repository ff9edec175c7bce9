//! `hilum fit-rescorer`: fits the rescorer (the classifier's logit with the
//! measured size, shape and attenuation, `hilum_detect::rescore`) on phantom
//! seeds used neither for training the classifier nor for evaluation, and
//! writes it beside the classifier's weights (driven by `cargo xtask train
//! detector`, after the classifier).

use crate::eval::COUNTED_MM;
use crate::Outcome;
use hilum_core::geometry::{norm, sub};
use hilum_detect::boost::{Boost, BoostConfig};
use hilum_detect::model::Classifier;
use hilum_detect::rescore::{features, terms, Features, Rescorer, ThickSlices, FEATURES};
use hilum_detect::weights::{self, Detector};
use hilum_detect::{detect, DetectOptions, MEASURE_FLOOR};
use hilum_eval::{classify, Detection, Outcome as Scored, ScanTruth, TruthNodule};
use hilum_phantom::generate;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The classifier's networks, all in one folder (give it once for each;
    /// the committed one when not given): the rescorer is fitted on their
    /// mean logit and written beside them, naming them.
    #[arg(long)]
    weights: Vec<PathBuf>,
    /// Networks, in the same folder, that score scans of slices
    /// `--thick-from-mm` or more apart in place of `--weights` (give it once
    /// for each). Only named in the rescorer: it is fitted on `--weights`
    /// at every thickness.
    #[arg(long)]
    thick_slice_weights: Vec<PathBuf>,
    /// Where `--thick-slice-weights` take over: slices this far apart (mm) or more.
    #[arg(long, default_value_t = 2.0, requires = "thick_slice_weights")]
    thick_from_mm: f64,
    /// Fit the rescorer for scans of thick slices: `--weights` are the
    /// networks that the `rescore.json` beside them names under
    /// `thick_slices`, every `--slice-mm` is thick, and the fit is stored
    /// there, the rest of the file left as it is.
    #[arg(long, conflicts_with = "thick_slice_weights")]
    thick_slices: bool,
    /// Phantom seeds, FIRST..END (end exclusive): not the classifier's
    /// training seeds (its logits there are overconfident) and below 5000.
    #[arg(long, default_value = "2000..2032", value_parser = crate::train::parse_range)]
    seeds: std::ops::Range<u64>,
    #[command(flatten)]
    phantom: crate::train::PhantomSet,
    /// L2 penalty on the standardised weights.
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Also write every labelled finding (JSON lines: seed, label, logit,
    /// measurement, candidate), to study other features.
    #[arg(long)]
    examples: Option<PathBuf>,
    /// Also fit on the product of every two of the continuous features
    /// (the logit, blob response, size, shape and attenuation): 21 terms more.
    #[arg(long)]
    pairs: bool,
    /// Also fit boosted regression trees on the logistic regression's
    /// residual (`hilum_detect::boost`, 200 trees of depth 3).
    #[arg(long)]
    boost: bool,
    /// With `--thick-slices --boost`: keep the logistic regression of the
    /// rescorer the fit goes into and fit only the trees on its residual.
    #[arg(long, requires_all = ["thick_slices", "boost"])]
    keep_linear: bool,
    /// The features the trees may split on, comma-separated (all when not given).
    #[arg(long, value_delimiter = ',', requires = "boost")]
    boost_features: Vec<String>,
    /// The trees may only lower a finding's logit, never raise it (fitted
    /// alike; their sum is clamped at 0 when used).
    #[arg(long, requires = "boost")]
    boost_lowers_only: bool,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if args.seeds.end > crate::train::HELD_OUT_SEEDS_FROM {
        anyhow::bail!(
            "rescorer seeds must stay below {}: seeds from there on are held out",
            crate::train::HELD_OUT_SEEDS_FROM
        );
    }
    let paths = if args.weights.is_empty() {
        vec![weights::default_path()]
    } else {
        args.weights.clone()
    };
    let path = paths[0].clone();
    if paths
        .iter()
        .chain(&args.thick_slice_weights)
        .any(|p| p.parent() != path.parent())
    {
        anyhow::bail!(
            "the classifier's networks must lie in one folder (the rescorer names them beside it)"
        );
    }
    let device = hilum_gpu::choose().map_err(|e| anyhow::anyhow!(e))?;
    let nets = paths
        .iter()
        .map(|p| weights::load_net(p, &device.device))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    // Loaded now so that a missing one fails before the fit, not after it.
    for p in &args.thick_slice_weights {
        weights::load_net(p, &device.device).map_err(|e| anyhow::anyhow!(e))?;
    }
    let detector = Detector {
        classifier: Classifier::new(nets),
        thick_slice_classifier: None,
        rescorer: Rescorer::cnn_only(),
    };
    let file_names = |paths: &[PathBuf], flag: &str| -> anyhow::Result<Vec<String>> {
        paths
            .iter()
            .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow::anyhow!("{flag} must name files"))
    };
    let members = file_names(&paths, "--weights")?;
    let thick_members = file_names(&args.thick_slice_weights, "--thick-slice-weights")?;
    // Read before the fit, so that a file it cannot go into fails first.
    let thick_of = if args.thick_slices {
        Some(thick_slices_of(&path, &members, &args.phantom.slice_mm)?)
    } else {
        None
    };
    // Checked before the fit, as the file above.
    let boost_config = BoostConfig {
        features: boost_features(&args.boost_features)?,
        lowers_only: args.boost_lowers_only,
        ..BoostConfig::default()
    };
    eprintln!("fitting the rescorer on {}", device.label);
    let options = DetectOptions {
        min_confidence: MEASURE_FLOOR,
        ..DetectOptions::default()
    };
    let started = std::time::Instant::now();
    let mut examples: Vec<(Features, bool)> = Vec::new();
    let mut dump = String::new();
    for seed in args.seeds.clone() {
        let p = generate(&args.phantom.spec(seed));
        let result = detect(&p.volume, &device, &detector, &options)
            .map_err(|e| anyhow::anyhow!("seed {seed}: {e}"))?;
        let (mut positives, mut negatives) = (0, 0);
        let (nodules, ignored) = p
            .truth
            .nodules
            .iter()
            .map(|n| TruthNodule {
                center_lps_mm: n.center_lps_mm,
                diameter_mm: n.diameter_mm,
            })
            .partition(|n| n.diameter_mm >= COUNTED_MM);
        let truth = ScanTruth {
            nodules,
            ignored,
            detections: Vec::new(),
        };
        for f in &result.findings {
            // Labelled as `hilum eval` scores it; findings on small nodules are left out.
            let detection = Detection {
                center_lps_mm: f.center_lps_mm,
                confidence: f.confidence,
            };
            let (label, nodule) = match classify(&truth, &detection, 0) {
                Scored::Hit(i) => (true, Some(i)),
                Scored::Ignored => continue,
                Scored::FalsePositive => (false, None),
            };
            if label {
                positives += 1;
            } else {
                negatives += 1;
            }
            examples.push((
                features(f.cnn_logit, f.candidate.blob_score, &f.measurement),
                label,
            ));
            if args.examples.is_some() {
                let m = &f.measurement;
                let line = serde_json::json!({
                    "seed": seed, "label": label, "nodule": nodule, "cnn_logit": f.cnn_logit,
                    "long_axis_mm": m.long_axis_mm, "short_axis_mm": m.short_axis_mm,
                    "mean_diameter_mm": m.mean_diameter_mm, "volume_mm3": m.volume_mm3,
                    "kind": m.kind, "attenuation_kind": m.attenuation_kind, "solid_diameter_mm": m.solid_diameter_mm, "mean_hu": m.mean_hu,
                    "shift_mm": norm(sub(f.center_lps_mm, f.candidate.lps_mm)),
                    "blob_score": f.candidate.blob_score, "blob_radius_mm": f.candidate.radius_mm,
                });
                dump += &(line.to_string() + "\n");
            }
        }
        eprintln!(
            "seed {seed}: {positives} findings on nodules, {negatives} elsewhere; {} nodules ≥ {COUNTED_MM} mm",
            truth.nodules.len()
        );
    }
    let mut rescorer = match &thick_of {
        Some(outer) if args.keep_linear => Rescorer {
            members: Vec::new(),
            thick_slices: None,
            boost: None,
            ..outer.clone()
        },
        _ => {
            Rescorer::fit(&examples, args.l2, terms(args.pairs)).map_err(|e| anyhow::anyhow!(e))?
        }
    };
    if args.boost {
        let base: Vec<f64> = examples
            .iter()
            .map(|(f, _)| rescorer.linear_logit(f))
            .collect();
        rescorer.boost = Some(Boost::fit(&examples, &base, &boost_config));
    }
    // One network is the one the rescorer is loaded beside: not named, so the
    // pair can be copied under another name.
    if (members.len() > 1 || !thick_members.is_empty()) && thick_of.is_none() {
        rescorer.members = members.clone();
    }
    if !thick_members.is_empty() {
        rescorer.thick_slices = Some(ThickSlices {
            from_mm: args.thick_from_mm,
            members: thick_members.clone(),
            rescorer: None,
        });
    }
    let positives = examples.iter().filter(|e| e.1).count();
    rescorer.fit = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "device": device.label,
        "weights": members,
        "thick_slice_weights": thick_members,
        "seeds": format!("{}..{}", args.seeds.start, args.seeds.end),
        "phantom": args.phantom.record(),
        "examples": examples.len(),
        "positives": positives,
        "min_cnn_confidence": MEASURE_FLOOR,
        "l2": args.l2,
        "method": if args.keep_linear {
            "the logistic regression kept from the rescorer it goes into; boosted trees fitted on its residual"
        } else {
            "logistic regression on standardised features, Newton's method"
        },
        "pairs": args.pairs,
        "boost": args.boost.then_some(boost_config),
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(file) = &args.examples {
        std::fs::write(file, &dump)?;
    }
    // A fit for thick slices goes into the file it was checked against.
    let file = match thick_of {
        Some(mut outer) => {
            if let Some(thick) = outer.thick_slices.as_mut() {
                thick.rescorer = Some(Box::new(rescorer.clone()));
            }
            outer
        }
        None => rescorer.clone(),
    };
    let written = weights::save_rescorer(&file, &path).map_err(|e| anyhow::anyhow!(e))?;
    for (name, w) in rescorer.features.iter().zip(&rescorer.weights) {
        eprintln!("  {name:<44} {w:+.3}");
    }
    if let Some(boost) = &rescorer.boost {
        eprintln!("  {:<44} {}", "boosted trees", boost.trees.len());
    }
    eprintln!(
        "  {:<44} {:+.3}\n{} examples ({positives} on nodules) → {}",
        "bias",
        rescorer.bias,
        examples.len(),
        written.display()
    );
    Ok(Outcome::Ok)
}

/// Indices into the rescorer's features of the names given.
fn boost_features(names: &[String]) -> anyhow::Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            FEATURES.iter().position(|f| f == name).ok_or_else(|| {
                anyhow::anyhow!(
                    "--boost-features: no feature {name:?} (the features: {FEATURES:?})"
                )
            })
        })
        .collect()
}

/// The rescorer beside `path`, checked to name `members` for slices as thick
/// as every one of `slice_mm`: the file a fit for thick slices goes into.
fn thick_slices_of(path: &Path, members: &[String], slice_mm: &[f64]) -> anyhow::Result<Rescorer> {
    let file = weights::rescorer_path(path);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (--thick-slices stores its fit in the rescorer beside the networks)",
            file.display()
        )
    })?;
    let outer =
        Rescorer::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let Some(thick) = &outer.thick_slices else {
        anyhow::bail!("{}: names no networks for thick slices", file.display());
    };
    if thick.members != members {
        anyhow::bail!(
            "{}: its networks for thick slices are {:?}, not the --weights {members:?}",
            file.display(),
            thick.members
        );
    }
    if let Some(thin) = slice_mm.iter().find(|&&mm| mm < thick.from_mm) {
        anyhow::bail!(
            "--slice-mm {thin}: the networks for thick slices score slices {} mm apart or more",
            thick.from_mm
        );
    }
    Ok(outer)
}
