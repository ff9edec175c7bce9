//! The phantom is deterministic, anatomically plausible, varied, and valid DICOM.

use hilum_core::NoduleKind;
use hilum_dicom::write::FileLayout;
use hilum_phantom::{generate, write_phantom, PhantomSpec};
use std::collections::HashSet;
use std::process::Command;

fn spec(seed: u64) -> PhantomSpec {
    PhantomSpec {
        dims: [96, 96, 48],
        ..PhantomSpec::small(seed)
    }
}

#[test]
fn same_seed_same_voxels_whatever_the_thread_count() {
    let a = generate(&spec(7));
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = single.install(|| generate(&spec(7)));
    assert_eq!(a.volume.data, b.volume.data);
    assert_eq!(a.truth.nodules.len(), b.truth.nodules.len());
    let c = generate(&spec(8));
    assert_ne!(a.volume.data, c.volume.data);
}

#[test]
fn looks_like_a_chest() {
    let p = generate(&spec(1));
    let n = p.volume.data.len() as f64;
    let frac =
        |lo: i16, hi: i16| p.volume.data.iter().filter(|&&v| v >= lo && v < hi).count() as f64 / n;
    let lung = frac(-950, -700);
    let soft = frac(-150, 150);
    let bone = frac(300, 3072);
    let air = frac(-1024, -950);
    assert!(lung > 0.08 && lung < 0.45, "lung fraction {lung}");
    assert!(soft > 0.15, "soft tissue fraction {soft}");
    assert!(bone > 0.002 && bone < 0.08, "bone fraction {bone}");
    assert!(air > 0.1, "air fraction {air}");
    // Left and right lungs: lung voxels on both sides of the midline.
    let [nx, ny, nz] = p.volume.dims;
    let (mut left, mut right) = (0, 0);
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let v = p.volume.get(i, j, k);
                if (-950..-700).contains(&v) {
                    if i < nx / 2 {
                        right += 1
                    } else {
                        left += 1
                    }
                }
            }
        }
    }
    let ratio = f64::from(left) / f64::from(right);
    assert!((0.6..1.6).contains(&ratio), "left/right lung ratio {ratio}");
}

#[test]
fn nodules_cover_every_kind_size_and_attachment() {
    let mut kinds = HashSet::new();
    let mut attachments = HashSet::new();
    let (mut smallest, mut largest) = (f64::MAX, 0f64);
    for seed in 1..=6 {
        let p = generate(&PhantomSpec {
            nodules: 10,
            ..spec(seed)
        });
        assert_eq!(p.truth.nodules.len(), 10, "seed {seed}");
        for n in &p.truth.nodules {
            kinds.insert(n.kind);
            attachments.insert(n.attached);
            smallest = smallest.min(n.diameter_mm);
            largest = largest.max(n.diameter_mm);
            assert!((3.0..=30.0).contains(&n.diameter_mm), "{n:?}");
            if n.kind == NoduleKind::PartSolid {
                assert!(n.solid_diameter_mm.unwrap() < n.diameter_mm);
            }
        }
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(
        attachments.contains(&Some("pleura"))
            && attachments.contains(&Some("diaphragm"))
            && attachments.contains(&Some("vessel"))
            && attachments.contains(&None),
        "{attachments:?}"
    );
    assert!(smallest < 5.0 && largest > 15.0, "{smallest}–{largest} mm");
}

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} not found: install dcmtk and dicom3tools (`cargo xtask test` does)"
    );
    Command::new(name)
}

#[test]
fn files_pass_dcmdump_and_dciodvfy_with_and_without_contrast() {
    for contrast in [false, true] {
        let p = generate(&PhantomSpec {
            dims: [64, 64, 6],
            contrast,
            ..spec(2)
        });
        let dir = tempfile::tempdir().unwrap();
        let files = write_phantom(&p, dir.path(), FileLayout::SingleFrame).unwrap();
        for f in [&files[0], &files[5]] {
            let dump = tool("dcmdump").arg(f).output().unwrap();
            assert!(
                dump.status.success(),
                "dcmdump: {}",
                String::from_utf8_lossy(&dump.stderr)
            );
            let text = String::from_utf8_lossy(&dump.stdout);
            assert!(text.contains("CTImageStorage"), "{text}");
            assert!(text.contains("PHANTOM^SEED 2"));
            assert_eq!(
                text.contains("ContrastBolusAgent") && text.contains("IODINATED CONTRAST"),
                contrast,
                "the Contrast/Bolus module only when enhanced: {text}"
            );
            assert_eq!(text.contains("WITH IV CONTRAST"), contrast);
            let check = tool("dciodvfy").arg(f).output().unwrap();
            let report = format!(
                "{}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            );
            assert!(
                report.contains("CTImage"),
                "dciodvfy did not recognise a CT image: {report}"
            );
            let problems: Vec<&str> = report
                .lines()
                .filter(|l| l.starts_with("Error") || l.starts_with("Warning"))
                .collect();
            assert!(
                problems.is_empty(),
                "dciodvfy on {} (contrast {contrast}):\n{}",
                f.display(),
                problems.join("\n")
            );
        }
    }
}

#[test]
fn contrast_brightens_the_blood_and_changes_nothing_else() {
    let plain = generate(&spec(5));
    let enhanced = generate(&PhantomSpec {
        contrast: true,
        ..spec(5)
    });
    assert_eq!(plain.truth.blood_hu, 42.0);
    let blood = enhanced.truth.blood_hu as f32;
    assert!(
        hilum_phantom::CONTRAST_HU.contains(&blood),
        "enhanced blood at {blood} HU"
    );
    // The same chest and nodules: the level is drawn from a stream of its own.
    let centres = |p: &hilum_phantom::Phantom| -> Vec<_> {
        p.truth
            .nodules
            .iter()
            .map(|n| (n.center_lps_mm, n.diameter_mm, n.kind))
            .collect()
    };
    assert_eq!(centres(&plain), centres(&enhanced));
    let pairs = || plain.volume.data.iter().zip(&enhanced.volume.data);
    assert!(
        pairs().all(|(a, b)| b >= a),
        "contrast only adds attenuation"
    );
    let brightened = pairs().filter(|(a, b)| **b > **a + 50).count();
    let share = brightened as f64 / plain.volume.data.len() as f64;
    // Heart, aorta and the vessel trees: a few per cent of the chest.
    assert!((0.01..0.2).contains(&share), "brightened share {share}");
}

/// Where the lungs' base meets the diaphragm, the slice below the last one of
/// lung averages both over its thickness: a band of intermediate density, as
/// on a real scan, rather than a step (2.5 mm slices, no noise).
#[test]
fn the_slice_thickness_blurs_the_lungs_boundary() {
    let p = generate(&PhantomSpec {
        dims: [256, 256, 96],
        noise_hu: 0.0,
        ..PhantomSpec::small(3)
    });
    let v = &p.volume;
    let [nx, ny, nz] = v.dims;
    let (mut blurred, mut columns) = (0, 0);
    for j in 0..ny {
        for i in 0..nx {
            let Some(k) = (1..nz).find(|&k| v.get(i, j, k) < -700) else {
                continue;
            };
            if (0..k).any(|below| v.get(i, j, below) >= 0) {
                columns += 1;
                let under = v.get(i, j, k - 1);
                blurred += usize::from(under > -650 && under < -150);
            }
        }
    }
    let share = blurred as f64 / columns as f64;
    assert!(columns > 1000, "{columns} columns through the diaphragm");
    assert!(share > 0.4, "{blurred} of {columns} columns blurred");
}

/// A beating heart changes the slices only near the heart, where it blurs
/// the border by a different amount from one slice to the next; the chest
/// and its nodules stay the seed's.
#[test]
fn a_beating_heart_blurs_only_its_border_and_differently_slice_by_slice() {
    let still_spec = PhantomSpec {
        dims: [128, 128, 64],
        noise_hu: 0.0,
        ..PhantomSpec::small(11)
    };
    let still = generate(&still_spec);
    let beating = generate(&PhantomSpec {
        cardiac_motion: true,
        ..still_spec
    });
    assert_eq!(
        format!("{:?}", still.truth.nodules),
        format!("{:?}", beating.truth.nodules)
    );
    let [nx, ny, nz] = still.volume.dims;
    let mut changed_per_slice = Vec::new();
    let mut changed_far_left = 0;
    for k in 0..nz {
        let mut changed = 0;
        for j in 0..ny {
            for i in 0..nx {
                let (a, b) = (still.volume.get(i, j, k), beating.volume.get(i, j, k));
                if (a - b).abs() > 20 {
                    changed += 1;
                    // The heart sits left of the midline (+x, the higher
                    // columns); the first tenth of the columns, the right
                    // chest wall, never sees it.
                    changed_far_left += usize::from(i < nx / 10);
                }
            }
        }
        changed_per_slice.push(changed);
    }
    assert_eq!(changed_far_left, 0, "the beat reached the right chest wall");
    let beating_slices: Vec<_> = changed_per_slice.iter().filter(|&&c| c > 0).collect();
    assert!(
        beating_slices.len() >= nz / 5,
        "only {} of {nz} slices changed: {changed_per_slice:?}",
        beating_slices.len()
    );
    let distinct: HashSet<_> = beating_slices.iter().collect();
    assert!(
        distinct.len() * 2 > beating_slices.len(),
        "the blur repeats from slice to slice: {changed_per_slice:?}"
    );
}
