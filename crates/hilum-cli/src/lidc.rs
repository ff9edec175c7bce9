//! `hilum lidc-truth PATH`: the reader consensus of an LIDC-IDRI scan (its
//! XML beside the slices), as LUNA16 counts it.

use crate::Outcome;
use hilum_dicom::{index_path, load_series};
use hilum_eval::lidc::{luna_truth, parse_reader_marks};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The scan's folder (slices and the reader XML).
    path: PathBuf,
}

/// Finds the LIDC XML under `path`.
pub fn find_xml(path: &Path) -> Option<PathBuf> {
    walk(path).into_iter().find(|p| {
        p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"))
            && std::fs::read_to_string(p).is_ok_and(|t| t.contains("LidcReadMessage"))
    })
}

fn walk(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let xml_path = find_xml(&args.path)
        .ok_or_else(|| anyhow::anyhow!("{}: no LIDC reader XML found", args.path.display()))?;
    let index = index_path(&args.path, &|_, _| {});
    let series = index
        .first_image_series()
        .ok_or_else(|| anyhow::anyhow!("{}: no image series", args.path.display()))?;
    let volume = load_series(series)?.volume;
    let spacing = volume.spacing();
    let xml = std::fs::read_to_string(&xml_path)?;
    let marks = parse_reader_marks(&xml, [spacing[0], spacing[1]])
        .map_err(|e| anyhow::anyhow!("{}: {e}", xml_path.display()))?;
    let (nodules, ignored) = luna_truth(&marks, &volume.affine);
    println!("{}: {} reader marks", xml_path.display(), marks.len());
    for n in &nodules {
        let c = n.center_lps_mm;
        println!(
            "nodule: {:.1} mm at LPS ({:.1}, {:.1}, {:.1}) mm, marked by {} readers",
            n.diameter_mm, c[0], c[1], c[2], n.readers
        );
    }
    println!(
        "{} ignored regions (nodules < 3 mm, non-nodules, fewer than 3 readers)",
        ignored.len()
    );
    Ok(Outcome::Ok)
}
