//! A synthetic chest CT with known nodules.
//!
//! The phantom is what makes Hilum testable without patient data: tests,
//! detector training and the demo study all come from here. It is drawn from
//! analytic anatomy (body, table, spine, ribs, sternum, lungs with domes and
//! fissures, heart, aorta), grown vessel and airway trees that thin towards the
//! periphery, nodules of every kind, and scanner-like noise.
//!
//! Determinism: the same spec and seed give the same voxels on any machine and
//! any number of threads; each slice draws noise from its own stream.

mod anatomy;
mod rng;
mod structures;

use anatomy::{hu, Anatomy, P3};
use hilum_core::{Affine, Lobe, NoduleKind, Volume};
use hilum_dicom::write::{generated_uids, write_ct_series, FileLayout, SeriesMeta};
use rayon::prelude::*;
use rng::Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use structures::{build_tubes, draw_nodule, draw_tube, place_nodules, Attachment, Nodule, Tube};

/// Bumped whenever what a spec generates changes, so that copies written
/// earlier (the demo study, the benchmark's phantom) are written again.
/// 2: no nodule hidden in a vessel (2026-11-30).
/// 3: an enhanced phantom's files carry the Contrast/Bolus module (2026-12-01).
/// 4: the lungs' boundary averaged over the slice thickness (2026-12-01).
/// 5: the lungs wrap around the aorta and the superior vena cava (2026-12-04).
/// 6: one pleural nodule in four marched down, most onto the diaphragm (2026-12-04).
/// 7: every nodule at least half in lung (2026-12-05); seeds that drew none
/// less are unchanged.
pub const GENERATION: u32 = 7;

fn is_zero(share: &f32) -> bool {
    *share == 0.0
}

/// What to generate.
#[derive(Clone, Debug, Serialize)]
pub struct PhantomSpec {
    pub seed: u64,
    /// Columns, rows, slices.
    pub dims: [usize; 3],
    /// Square field of view in mm; the pixel spacing is `fov_mm / columns`.
    pub fov_mm: f64,
    /// Distance between slices (also the slice thickness), 0.625–2.5 mm typical.
    pub slice_mm: f64,
    /// Standard deviation of the image noise in HU (low-dose CT ≈ 30–40).
    pub noise_hu: f32,
    pub nodules: usize,
    /// Share of the nodules (0–1) redrawn 4–6.5 mm on a vessel or the pleura,
    /// the ones thick slices hide best: for training phantoms rich in them.
    /// Held-out phantoms keep 0, the mix every evaluation has used.
    #[serde(skip_serializing_if = "is_zero")]
    pub small_attached_share: f32,
    /// The heart beats while the slices are taken: its border blurred within
    /// each slice and stepped from one to the next ([`heartbeats`]), as on a
    /// scan not gated to the ECG, where the lung beside it holds a faint band
    /// much like ground glass. For training phantoms; held-out ones keep the
    /// still heart every evaluation has used.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cardiac_motion: bool,
    /// Intravenous contrast: blood (heart, aorta, pulmonary arteries and veins)
    /// at a level drawn for the seed from [`CONTRAST_HU`] instead of 42 HU.
    /// Real chest CTs are often enhanced; a classifier that never saw an
    /// enhanced vessel takes its bright segments for calcified nodules.
    pub contrast: bool,
}

/// Range of the enhanced blood's attenuation, HU (routine venous phase to a
/// CT angiogram; LIDC-IDRI-0001's pulmonary vessels read 300–450 HU).
pub const CONTRAST_HU: std::ops::Range<f32> = 150.0..400.0;

impl PhantomSpec {
    /// A full-size scan: 512×512 at 0.7 mm, 300 slices of 1 mm.
    pub fn standard(seed: u64) -> Self {
        Self {
            seed,
            dims: [512, 512, 300],
            fov_mm: 360.0,
            slice_mm: 1.0,
            noise_hu: 25.0,
            nodules: 10,
            small_attached_share: 0.0,
            cardiac_motion: false,
            contrast: false,
        }
    }
    /// A small scan for fast tests: 128×128×96 at 2.8 × 2.8 × 2.5 mm.
    pub fn small(seed: u64) -> Self {
        Self {
            dims: [128, 128, 96],
            slice_mm: 2.5,
            nodules: 6,
            ..Self::standard(seed)
        }
    }
}

/// One nodule as ground truth.
#[derive(Clone, Debug, Serialize)]
pub struct TruthNodule {
    pub id: usize,
    pub center_lps_mm: [f64; 3],
    /// Nominal diameter (before lobulation), mm.
    pub diameter_mm: f64,
    pub kind: NoduleKind,
    /// The solid part of a part-solid nodule (the whole of a solid one), mm.
    pub solid_diameter_mm: Option<f64>,
    pub lobe: Lobe,
    /// "pleura" (of the ribs or the mediastinum), "diaphragm", "vessel", or
    /// null for a nodule free in the parenchyma.
    pub attached: Option<&'static str>,
    /// Peak attenuation drawn, HU.
    pub hu: f64,
    /// The slice (0 = most inferior) through the centre.
    pub slice_index: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Truth {
    pub schema: &'static str,
    /// [`GENERATION`] of the generator that drew it.
    pub generation: u32,
    /// What was asked for.
    pub spec: PhantomSpec,
    pub seed: u64,
    pub dims: [usize; 3],
    pub spacing_mm: [f64; 3],
    pub noise_hu: f32,
    /// The blood's attenuation, HU (42 without contrast).
    pub blood_hu: f64,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub nodules: Vec<TruthNodule>,
}

pub struct Phantom {
    pub spec: PhantomSpec,
    pub volume: Volume,
    pub truth: Truth,
}

/// A coarse 3D value-noise lattice for lung parenchyma and ground-glass texture.
struct Texture {
    origin: P3,
    step: f32,
    n: [usize; 3],
    values: Vec<f32>,
}

impl Texture {
    fn new(rng: &mut Rng, lo: P3, hi: P3, step: f32) -> Self {
        let n = [0, 1, 2].map(|i| ((hi[i] - lo[i]) / step) as usize + 2);
        let values = (0..n[0] * n[1] * n[2])
            .map(|_| rng.range(-1.0, 1.0))
            .collect();
        Self {
            origin: lo,
            step,
            n,
            values,
        }
    }
    /// Trilinear interpolation, in [−1, 1].
    fn at(&self, p: P3) -> f32 {
        let mut base = [0usize; 3];
        let mut frac = [0f32; 3];
        for i in 0..3 {
            let g = ((p[i] - self.origin[i]) / self.step).clamp(0.0, (self.n[i] - 2) as f32);
            base[i] = g as usize;
            frac[i] = g - base[i] as f32;
        }
        let idx = |i: usize, j: usize, k: usize| self.values[i + self.n[0] * (j + self.n[1] * k)];
        let mut v = 0.0;
        for (dk, wk) in [(0, 1.0 - frac[2]), (1, frac[2])] {
            for (dj, wj) in [(0, 1.0 - frac[1]), (1, frac[1])] {
                for (di, wi) in [(0, 1.0 - frac[0]), (1, frac[0])] {
                    v += wi * wj * wk * idx(base[0] + di, base[1] + dj, base[2] + dk);
                }
            }
        }
        v
    }
}

/// The random stream of the nodules that replace those hidden in a vessel
/// (slices draw their noise from streams 1 000 000 and up).
const REPLACEMENT_NODULE_STREAM: u64 = 999_999;
/// The random stream of the contrast level, apart from the anatomy's, so that
/// a seed draws the same chest and nodules with and without contrast.
const CONTRAST_STREAM: u64 = 999_998;

/// The random streams of the heart's beat, one a slice from here on.
const HEARTBEAT_STREAMS: u64 = 2_000_000;

/// The heart's walls move this far (mm) over a beat at most; the left
/// ventricle's free wall moves about 5–10 mm between systole and diastole.
const MAX_HEART_WALL_TRAVEL: f32 = 7.0;

/// The heart as slice `k` sees it: several moments of one beat, averaged
/// ([`draw_slice`]). Each slice catches its own part of the cycle (a phase
/// and a travel drawn for it), so the border is blurred within a slice by up
/// to the travel and steps from slice to slice. None without motion.
fn heartbeats(spec: &PhantomSpec, anatomy: &Anatomy, k: usize) -> Vec<Anatomy> {
    if !spec.cardiac_motion {
        return Vec::new();
    }
    let mut rng = Rng::stream(spec.seed, HEARTBEAT_STREAMS + k as u64);
    let travel = rng.range(1.0, MAX_HEART_WALL_TRAVEL);
    let phase = rng.range(-0.5, 0.5);
    [-0.5f32, -0.25, 0.0, 0.25, 0.5]
        .iter()
        .map(|moment| Anatomy {
            heart_beat: travel * (phase + moment),
            ..anatomy.clone()
        })
        .collect()
}

/// Builds the phantom in memory.
pub fn generate(spec: &PhantomSpec) -> Phantom {
    let [nx, ny, nz] = spec.dims;
    let px = spec.fov_mm / nx as f64;
    let z_extent = spec.slice_mm * (nz.max(2) - 1) as f64;
    // z = 0 is just above the lung apices; the scan extends downwards.
    let affine = Affine {
        origin: [
            -spec.fov_mm / 2.0 + px / 2.0,
            -spec.fov_mm / 2.0 + px / 2.0 + 10.0,
            -z_extent + 20.0,
        ],
        col_step: [px, 0.0, 0.0],
        row_step: [0.0, px, 0.0],
        slice_step: [0.0, 0.0, spec.slice_mm],
    };
    let mut rng = Rng::new(spec.seed);
    let mut anatomy = Anatomy::new(&mut rng, z_extent as f32);
    if spec.contrast {
        anatomy.blood_hu =
            Rng::stream(spec.seed, CONTRAST_STREAM).range(CONTRAST_HU.start, CONTRAST_HU.end);
    }
    let tubes = build_tubes(&anatomy, &mut rng);
    let mut replacements = Rng::stream(spec.seed, REPLACEMENT_NODULE_STREAM);
    let nodules = place_nodules(
        &anatomy,
        &tubes,
        &mut rng,
        &mut replacements,
        spec.nodules,
        spec.small_attached_share,
    );
    let texture = Texture::new(
        &mut rng,
        [-200.0, -200.0, -z_extent as f32],
        [200.0, 200.0, 40.0],
        3.5,
    );
    let fine = Texture::new(
        &mut rng,
        [-200.0, -200.0, -z_extent as f32],
        [200.0, 200.0, 40.0],
        1.6,
    );

    let slice_len = nx * ny;
    let mut data = vec![0i16; slice_len * nz];
    data.par_chunks_mut(slice_len)
        .enumerate()
        .for_each(|(k, out)| {
            let z = affine.voxel_to_lps([0.0, 0.0, k as f64])[2] as f32;
            let mut noise = Rng::stream(spec.seed, 1_000_000 + k as u64);
            draw_slice(
                &SliceContext {
                    anatomy: &anatomy,
                    heartbeats: &heartbeats(spec, &anatomy, k),
                    tubes: &tubes,
                    nodules: &nodules,
                    texture: &texture,
                    fine: &fine,
                    affine: &affine,
                    dims: [nx, ny],
                    z,
                    depths: [-1.0, 0.0, 1.0].map(|d| d * spec.slice_mm as f32 / 3.0),
                    edge: (0.6 * px as f32).max(0.35),
                },
                spec.noise_hu,
                &mut noise,
                out,
            );
        });
    let volume = Volume {
        dims: spec.dims,
        affine,
        data,
    };
    let (study_uid, series_uid, _) =
        generated_uids(&format!("hilum-phantom/{}/{nx}x{ny}x{nz}", spec.seed));
    let truth = Truth {
        schema: "hilum.phantom-truth/1",
        generation: GENERATION,
        spec: spec.clone(),
        seed: spec.seed,
        dims: spec.dims,
        spacing_mm: volume.spacing(),
        noise_hu: spec.noise_hu,
        blood_hu: round2(f64::from(anatomy.blood_hu)),
        study_instance_uid: study_uid,
        series_instance_uid: series_uid,
        nodules: nodules
            .iter()
            .enumerate()
            .map(|(i, n)| truth_nodule(i + 1, n, &volume))
            .collect(),
    };
    Phantom {
        spec: spec.clone(),
        volume,
        truth,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn truth_nodule(id: usize, n: &Nodule, volume: &Volume) -> TruthNodule {
    let c = n.center.map(f64::from);
    let k = volume.affine.lps_to_voxel(c).map_or(0, |v| {
        v[2].round().clamp(0.0, (volume.dims[2] - 1) as f64) as usize
    });
    TruthNodule {
        id,
        center_lps_mm: c.map(round2),
        diameter_mm: round2(2.0 * f64::from(n.radius)),
        kind: n.kind,
        solid_diameter_mm: match n.kind {
            NoduleKind::Solid | NoduleKind::Calcified => Some(round2(2.0 * f64::from(n.radius))),
            NoduleKind::PartSolid => Some(round2(2.0 * f64::from(n.core_radius))),
            NoduleKind::GroundGlass => None,
        },
        lobe: n.lobe,
        attached: match n.attachment {
            Attachment::Free => None,
            Attachment::Pleura => Some("pleura"),
            Attachment::Diaphragm => Some("diaphragm"),
            Attachment::Vessel => Some("vessel"),
        },
        hu: round2(f64::from(n.hu)),
        slice_index: k,
    }
}

struct SliceContext<'a> {
    anatomy: &'a Anatomy,
    /// The anatomy at moments of a heartbeat, averaged near the heart; empty
    /// for a still heart.
    heartbeats: &'a [Anatomy],
    tubes: &'a [Tube],
    nodules: &'a [Nodule],
    texture: &'a Texture,
    fine: &'a Texture,
    affine: &'a Affine,
    dims: [usize; 2],
    z: f32,
    /// Depths (mm) sampled across the slice thickness for partial-volume averaging.
    depths: [f32; 3],
    edge: f32,
}

/// What anatomy `a` (the still one or a moment of the heartbeat) draws at `p`:
/// the background tissue, with lung over it as far as the slice's thickness
/// averages the lung's boundary.
fn tissue_at(ctx: &SliceContext, a: &Anatomy, p: P3) -> f32 {
    let y = p[1];
    let mut v = a.background(p);
    for lung in &a.lungs {
        if (p[0] - lung.cx).abs() > lung.lateral.max(lung.medial_above_hilum) + 4.0 {
            continue;
        }
        // The slice averages the lung's boundary over its thickness
        // too: where the boundary runs oblique to the slice (the
        // diaphragm's dome, the heart's sides) it is a band of
        // intermediate density several mm wide, as on a real scan.
        let alpha = ctx
            .depths
            .iter()
            .map(|d| {
                let depth = a.lung_depth(lung, [p[0], p[1], p[2] + d]);
                (depth / ctx.edge + 0.5).clamp(0.0, 1.0)
            })
            .sum::<f32>()
            / ctx.depths.len() as f32;
        if alpha > 0.0 {
            // Dependent (posterior) lung is denser; texture mimics parenchyma.
            let mut lung_hu = hu::LUNG
                + 30.0 * ((y + 80.0) / 160.0).clamp(0.0, 1.0)
                + 22.0 * ctx.texture.at(p)
                + 12.0 * ctx.fine.at(p);
            let fissure = if lung.side < 0.0 && a.oblique_fissure(p) > 0.0 && y < 30.0 {
                a.oblique_fissure(p)
                    .abs()
                    .min(a.horizontal_fissure(p).abs())
            } else {
                a.oblique_fissure(p).abs()
            };
            if fissure < 0.6 {
                lung_hu = lung_hu.max(hu::FISSURE);
            }
            v += (lung_hu - v) * alpha;
        }
    }
    v
}

fn draw_slice(ctx: &SliceContext, noise_hu: f32, noise: &mut Rng, out: &mut [i16]) {
    let [nx, ny] = ctx.dims;
    let origin = ctx.affine.origin;
    let (px, py) = (ctx.affine.col_step[0] as f32, ctx.affine.row_step[1] as f32);
    let (x0, y0) = (origin[0] as f32, origin[1] as f32);
    let a = ctx.anatomy;
    let mut values = vec![0f32; nx * ny];

    // Background and lungs; near a beating heart, the mean of its moments.
    let reach = ctx
        .heartbeats
        .iter()
        .map(|beat| beat.heart_beat.abs())
        .fold(0.0f32, f32::max);
    for j in 0..ny {
        let y = y0 + j as f32 * py;
        for i in 0..nx {
            let p = [x0 + i as f32 * px, y, ctx.z];
            // The lung ends 3 mm off the heart, so a moving wall reaches
            // lung within its travel plus that and the edge's blur.
            values[i + nx * j] = if !ctx.heartbeats.is_empty() && a.heart_depth(p) > -(reach + 6.0)
            {
                ctx.heartbeats
                    .iter()
                    .map(|beat| tissue_at(ctx, beat, p))
                    .sum::<f32>()
                    / ctx.heartbeats.len() as f32
            } else {
                tissue_at(ctx, a, p)
            };
        }
    }

    // Tubes and nodules that cross this slice, each over its own bounding box.
    let pixel_range = |lo: P3, hi: P3| {
        let i0 = ((lo[0] - x0) / px).floor().max(0.0) as usize;
        let i1 = (((hi[0] - x0) / px).ceil().max(0.0) as usize).min(nx.saturating_sub(1));
        let j0 = ((lo[1] - y0) / py).floor().max(0.0) as usize;
        let j1 = (((hi[1] - y0) / py).ceil().max(0.0) as usize).min(ny.saturating_sub(1));
        (i0, i1, j0, j1)
    };
    // Small structures are averaged over the slice thickness (partial volume):
    // a 2 mm vessel in a 2.5 mm slice is fainter than in a 0.625 mm one.
    let (z_lo, z_hi) = (ctx.z + ctx.depths[0], ctx.z + ctx.depths[2]);
    // Draws one primitive over its bounding box, averaging the depths.
    let mut overlay = |(lo, hi): (P3, P3), draw: &dyn Fn(P3, f32) -> f32| {
        if z_hi < lo[2] || z_lo > hi[2] {
            return;
        }
        let (i0, i1, j0, j1) = pixel_range(lo, hi);
        for j in j0..=j1 {
            for i in i0..=i1 {
                let under = values[i + nx * j];
                let sum: f32 = ctx
                    .depths
                    .iter()
                    .map(|d| draw([x0 + i as f32 * px, y0 + j as f32 * py, ctx.z + d], under))
                    .sum();
                values[i + nx * j] = sum / ctx.depths.len() as f32;
            }
        }
    };
    for tube in ctx.tubes {
        overlay(tube.bounds(), &|p, under| {
            draw_tube(tube, p, under, ctx.edge, a.blood_hu)
        });
    }
    for n in ctx.nodules {
        overlay(n.bounds(), &|p, under| {
            draw_nodule(n, p, under, ctx.edge, ctx.fine.at(p))
        });
    }

    // CT noise is spatially correlated: white noise smoothed by a separable
    // [¼ ½ ¼] kernel, rescaled (÷ 0.375) to keep the requested standard deviation.
    let white: Vec<f32> = (0..nx * ny).map(|_| noise.normal()).collect();
    let smooth = |a: &[f32], i: usize, j: usize, di: usize, dj: usize| {
        let at = |ii: usize, jj: usize| a[ii.min(nx - 1) + nx * jj.min(ny - 1)];
        0.25 * at(i.saturating_sub(di), j.saturating_sub(dj))
            + 0.5 * at(i, j)
            + 0.25 * at(i + di, j + dj)
    };
    let rows: Vec<f32> = (0..nx * ny)
        .map(|n| smooth(&white, n % nx, n / nx, 1, 0))
        .collect();
    for (n, (o, v)) in out.iter_mut().zip(values).enumerate() {
        let correlated = smooth(&rows, n % nx, n / nx, 0, 1) / 0.375;
        let noisy = v + noise_hu * correlated;
        *o = noisy.round().clamp(-1024.0, 3071.0) as i16;
    }
}

/// Whether `dir` holds the phantom `spec` asks for, drawn by this
/// [`GENERATION`] (its `truth.json` says so; the series is written first).
pub fn is_current(dir: &Path, spec: &PhantomSpec) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("truth.json")) else {
        return false;
    };
    let Ok(truth) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    // The spec through text as it was written, so f32 fields compare alike.
    let asked = serde_json::to_string(spec)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    truth["generation"] == GENERATION && asked.is_some_and(|asked| truth["spec"] == asked)
}

/// Writes the phantom into `dir` unless it already holds it
/// ([`is_current`]); a stale copy is replaced whole, and the new one appears
/// at once (written beside it, then renamed). Returns whether it wrote.
pub fn write_unless_current(
    spec: &PhantomSpec,
    dir: &Path,
    layout: FileLayout,
) -> std::io::Result<bool> {
    if is_current(dir, spec) {
        return Ok(false);
    }
    let mut partial = dir.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_dir_all(&partial);
    write_phantom(&generate(spec), &partial, layout)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::rename(&partial, dir)?;
    Ok(true)
}

/// Writes the phantom as a DICOM CT series plus `truth.json` into `dir`.
pub fn write_phantom(
    phantom: &Phantom,
    dir: &Path,
    layout: FileLayout,
) -> std::io::Result<Vec<PathBuf>> {
    let seed = phantom.spec.seed;
    let (_, _, frame_of_reference) =
        generated_uids(&format!("hilum-phantom/{seed}/{:?}", phantom.spec.dims));
    let meta = SeriesMeta {
        patient_name: format!("PHANTOM^SEED {seed}"),
        patient_id: format!("PHANTOM-{seed:06}"),
        patient_sex: "O".into(),
        study_instance_uid: phantom.truth.study_instance_uid.clone(),
        series_instance_uid: phantom.truth.series_instance_uid.clone(),
        frame_of_reference_uid: frame_of_reference,
        study_date: "20260101".into(),
        study_time: "120000".into(),
        study_id: format!("{seed}"),
        accession_number: format!("PH{seed}"),
        study_description: if phantom.spec.contrast {
            "CT CHEST WITH IV CONTRAST (SYNTHETIC PHANTOM)"
        } else {
            "CT CHEST LOW DOSE (SYNTHETIC PHANTOM)"
        }
        .into(),
        series_description: format!("Hilum phantom seed {seed}"),
        series_number: 2,
        manufacturer: "Hilum".into(),
        model_name: "hilum-phantom".into(),
        kvp: 120.0,
        slice_thickness_mm: phantom.spec.slice_mm,
        comment: format!("Synthetic phantom generated by Hilum (seed {seed}); not a patient"),
        contrast_agent: phantom
            .spec
            .contrast
            .then(|| "IODINATED CONTRAST (SYNTHETIC)".into()),
    };
    let files = write_ct_series(dir, &meta, &phantom.volume, layout)?;
    let json = serde_json::to_string_pretty(&phantom.truth).map_err(std::io::Error::other)?;
    let tmp = dir.join("truth.json.partial");
    std::fs::write(&tmp, json + "\n")?;
    std::fs::rename(tmp, dir.join("truth.json"))?;
    Ok(files)
}
