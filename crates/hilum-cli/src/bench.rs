//! `hilum bench-load PATH` (hidden; driven by `cargo xtask bench load`): times
//! Hilum's index + load of the first image series against the I/O floor (reading
//! the same files' bytes with the same thread pool), warm page cache, in one run:
//! every method once a round, so that all see the same state of the machine
//! and of its caches (run back to back, the floor swung 2x between runs, most
//! likely as it re-read bytes this CPU's 260 MB L3 still held from its last repeat).

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

/// Milliseconds a call of `f` takes.
fn timed(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

fn timing(mut ms: Vec<f64>) -> Timing {
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
    let mut reused: Vec<u8> = hilum_dicom::zeroed_buffer(sizes.iter().sum());
    let load_path = || {
        let index = index_path(&args.path, &|_, _| {});
        let series = index.first_image_series().expect("indexed above");
        load_series(series).expect("loaded above").volume
    };
    // Every method once a round, rounds repeated (see the module comment).
    let mut methods: [&mut dyn FnMut(); 6] = [
        &mut || {
            let total: usize = files
                .par_iter()
                .map(|f| std::fs::read(f).map(|b| b.len()).unwrap_or(0))
                .sum();
            std::hint::black_box(total);
        },
        &mut || {
            let mut memory: Vec<u8> = hilum_dicom::zeroed_buffer(sizes.iter().sum());
            read_into(&mut memory);
            std::hint::black_box(memory);
        },
        &mut || {
            read_into(&mut reused);
            std::hint::black_box(&reused);
        },
        // No volume is recycled before these three: they take fresh memory.
        &mut || {
            std::hint::black_box(load_path());
        },
        &mut || {
            std::hint::black_box(index_path(&args.path, &|_, _| {}));
        },
        &mut || {
            std::hint::black_box(load_series(series).expect("loaded above"));
        },
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); methods.len() + 1];
    // Round 0 warms the page cache and the allocator and is not counted.
    for round in 0..=args.repeat.max(1) {
        let mut ms: Vec<f64> = methods.iter_mut().map(|f| timed(*f)).collect();
        hilum_dicom::recycle(load_path()); // untimed: a volume to reuse
        ms.push(timed(&mut || hilum_dicom::recycle(load_path())));
        drop(load_path()); // untimed: takes the spare, so the next round starts without one
        if round > 0 {
            for (s, m) in samples.iter_mut().zip(ms) {
                s.push(m);
            }
        }
    }
    let [io_floor, io_into_fresh_memory, io_into_reused_memory, hilum_load, index_only, decode_only, hilum_load_recycled]: [Timing; 7] =
        samples
            .into_iter()
            .map(timing)
            .collect::<Vec<_>>()
            .try_into()
            .ok()
            .expect("seven methods");
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
