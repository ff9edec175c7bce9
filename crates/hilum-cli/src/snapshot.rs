//! `hilum snapshot PATH --out DIR`: PNG views of a loaded series, for people
//! and for checking what the loader produced.

use crate::Outcome;
use hilum_core::Volume;
use hilum_dicom::{index_path, load_series};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    path: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Window centre/width in HU (default: lung window −600/1500).
    #[arg(long, default_value_t = -600.0, allow_hyphen_values = true)]
    level: f32,
    #[arg(long, default_value_t = 1500.0)]
    width: f32,
    /// Axial slices to render, as fractions of the stack (0 = inferior).
    #[arg(long, value_delimiter = ',', default_value = "0.3,0.5,0.7")]
    at: Vec<f64>,
}

fn window(v: i16, level: f32, width: f32) -> u8 {
    ((f32::from(v) - (level - width / 2.0)) / width * 255.0).clamp(0.0, 255.0) as u8
}

/// Saves a `w`×`h` grayscale image, resampled in height by `aspect` (mm per
/// row ÷ mm per column) so anatomy keeps its proportions.
fn save(
    path: &Path,
    w: usize,
    h: usize,
    aspect: f64,
    pixel: impl Fn(usize, usize) -> u8,
) -> anyhow::Result<()> {
    let out_h = ((h as f64) * aspect).round().max(1.0) as usize;
    let mut img = image::GrayImage::new(w as u32, out_h as u32);
    for y in 0..out_h {
        let src_y = ((y as f64 + 0.5) / aspect).floor().min((h - 1) as f64) as usize;
        for x in 0..w {
            img.put_pixel(x as u32, y as u32, image::Luma([pixel(x, src_y)]));
        }
    }
    let tmp = path.with_extension("png.partial");
    img.save_with_format(&tmp, image::ImageFormat::Png)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

pub fn render_views(
    v: &Volume,
    out: &Path,
    level: f32,
    width: f32,
    at: &[f64],
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let [nx, ny, nz] = v.dims;
    let sp = v.spacing();
    let mut written = Vec::new();
    for &f in at {
        let k = ((nz - 1) as f64 * f.clamp(0.0, 1.0)).round() as usize;
        let p = out.join(format!("axial_{k:04}.png"));
        save(&p, nx, ny, sp[1] / sp[0], |x, y| {
            window(v.get(x, y, k), level, width)
        })?;
        written.push(p);
    }
    // Coronal through the middle row, sagittal through the middle column: head up.
    let p = out.join("coronal.png");
    save(&p, nx, nz, sp[2] / sp[0], |x, y| {
        window(v.get(x, ny / 2, nz - 1 - y), level, width)
    })?;
    written.push(p);
    let p = out.join("sagittal.png");
    save(&p, ny, nz, sp[2] / sp[1], |x, y| {
        window(v.get(nx / 2, x, nz - 1 - y), level, width)
    })?;
    written.push(p);
    Ok(written)
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let index = index_path(&args.path, &|_, _| {});
    let series = index
        .first_image_series()
        .ok_or_else(|| anyhow::anyhow!("{}: no image series found", args.path.display()))?;
    let loaded = load_series(series)?;
    for p in render_views(&loaded.volume, &args.out, args.level, args.width, &args.at)? {
        println!("{}", p.display());
    }
    Ok(Outcome::Ok)
}
