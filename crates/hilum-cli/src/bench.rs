//! `hilum bench-load PATH` (hidden; driven by `cargo xtask bench load`): times
//! Hilum's index + load of the first image series against the I/O floor (reading
//! the same files' bytes with the same thread pool), warm page cache, in one run.

use crate::Outcome;
use hilum_dicom::{index_path, load_series};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    path: PathBuf,
    #[arg(long, default_value_t = 10)]
    repeat: usize,
}

#[derive(Serialize)]
struct Timing {
    best_ms: f64,
    median_ms: f64,
}

#[derive(Serialize)]
struct Report {
    files: usize,
    bytes: u64,
    dims: [usize; 3],
    volume_bytes: usize,
    threads: usize,
    io_floor: Timing,
    /// Reading the bytes into one freshly allocated buffer of their total size,
    /// allocated as the volume is: the floor for any loader that produces new
    /// memory (the kernel zeroes every fresh page).
    io_into_fresh_memory: Timing,
    /// Reading the bytes into one buffer of their total size that earlier
    /// repeats already wrote: where a recycled volume's bytes go, without the
    /// decoding. The floor for any loader that places the voxels in memory.
    io_into_reused_memory: Timing,
    hilum_load: Timing,
    /// As hilum_load, each volume handed back (`recycle`) for the next load to
    /// reuse, as `hilum detect` does between the series of a batch.
    hilum_load_recycled: Timing,
    /// The two parts of hilum_load.
    index_only: Timing,
    decode_only: Timing,
}

fn time(repeat: usize, mut f: impl FnMut()) -> Timing {
    f(); // warm the page cache and the allocator
    let mut ms: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    Timing {
        best_ms: ms[0],
        median_ms: ms[ms.len() / 2],
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let index = index_path(&args.path, &|_, _| {});
    let series = index
        .first_image_series()
        .ok_or_else(|| anyhow::anyhow!("{}: no image series", args.path.display()))?;
    let files: Vec<PathBuf> = series.image_files().map(|f| f.path.clone()).collect();
    let bytes: u64 = series.image_files().map(|f| f.file_len).sum();
    let loaded = load_series(series)?;

    let io_floor = time(args.repeat, || {
        let total: usize = files
            .par_iter()
            .map(|f| std::fs::read(f).map(|b| b.len()).unwrap_or(0))
            .sum();
        std::hint::black_box(total);
    });
    let sizes: Vec<usize> = series.image_files().map(|f| f.file_len as usize).collect();
    let read_into = |memory: &mut [u8]| {
        let mut chunks = Vec::new();
        let mut rest = memory;
        for &n in &sizes {
            let (head, tail) = rest.split_at_mut(n);
            chunks.push(head);
            rest = tail;
        }
        files.par_iter().zip(chunks).for_each(|(f, out)| {
            use std::io::Read;
            if let Ok(mut file) = std::fs::File::open(f) {
                let _ = file.read_exact(out);
            }
        });
    };
    let io_into_fresh_memory = time(args.repeat, || {
        let mut memory: Vec<u8> = hilum_dicom::zeroed_buffer(sizes.iter().sum());
        read_into(&mut memory);
        std::hint::black_box(memory);
    });
    let mut reused: Vec<u8> = hilum_dicom::zeroed_buffer(sizes.iter().sum());
    let io_into_reused_memory = time(args.repeat, || {
        read_into(&mut reused);
        std::hint::black_box(&reused);
    });
    drop(reused);
    let hilum_load = time(args.repeat, || {
        let index = index_path(&args.path, &|_, _| {});
        let series = index.first_image_series().expect("indexed above");
        std::hint::black_box(load_series(series).expect("loaded above"));
    });
    let index_only = time(args.repeat, || {
        std::hint::black_box(index_path(&args.path, &|_, _| {}));
    });
    let decode_only = time(args.repeat, || {
        std::hint::black_box(load_series(series).expect("loaded above"));
    });
    // Last: until here nothing was recycled, so every load above took fresh memory.
    let hilum_load_recycled = time(args.repeat, || {
        let index = index_path(&args.path, &|_, _| {});
        let series = index.first_image_series().expect("indexed above");
        hilum_dicom::recycle(load_series(series).expect("loaded above").volume);
    });
    let report = Report {
        files: files.len(),
        bytes,
        dims: loaded.volume.dims,
        volume_bytes: loaded.volume.byte_size(),
        threads: rayon::current_num_threads(),
        io_floor,
        io_into_fresh_memory,
        io_into_reused_memory,
        hilum_load,
        hilum_load_recycled,
        index_only,
        decode_only,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(Outcome::Ok)
}
