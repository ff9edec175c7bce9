//! A series → an HU volume on a regular grid.
//!
//! Memory: the volume is allocated once at its final size and every plane is
//! decoded straight into its place; a worker thread holds one file's bytes at a
//! time. Peak memory is the volume plus a file per thread.

use crate::error::{contain_panics, FileError};
use crate::header::{is_native_syntax, FileHeader, ImageHeader};
use crate::index::Series;
use crate::native::{find_pixel_data, find_pixel_data_in_prefix};
use crate::pixels::{stored_to_hu, stored_to_hu_in_place, PixelFormat};
use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use hilum_core::slice_stack::GridPlane;
use hilum_core::{analyse_stack, GeometryProblem, Volume};
use rayon::prelude::*;
use std::cell::RefCell;
use std::io::Read;

/// A loaded series: the volume and the geometry warnings that came with it.
#[derive(Debug)]
pub struct LoadedSeries {
    pub volume: Volume,
    pub problems: Vec<GeometryProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("series {series}: not an image series")]
    NotImages { series: String },
    #[error("series {series}: {problem}")]
    Geometry {
        series: String,
        problem: GeometryProblem,
    },
    #[error("{0}")]
    File(#[from] FileError),
}

/// One input frame: which file, which frame in it.
#[derive(Clone, Copy)]
struct FrameRef {
    file: usize,
    frame: usize,
}

pub fn load_series(series: &Series) -> Result<LoadedSeries, LoadError> {
    let files: Vec<&FileHeader> = series.image_files().collect();
    if files.is_empty() {
        return Err(LoadError::NotImages {
            series: series.series_instance_uid.clone(),
        });
    }
    let frames: Vec<FrameRef> = files
        .iter()
        .enumerate()
        .flat_map(|(file, h)| {
            let n = h.image.as_ref().map_or(0, |i| i.frames.len());
            (0..n).map(move |frame| FrameRef { file, frame })
        })
        .collect();
    let geometries: Vec<_> = frames
        .iter()
        .map(|r| image(files[r.file]).frames[r.frame].geometry.clone())
        .collect();
    let layout = analyse_stack(&geometries);
    if let Some(problem) = layout
        .problems
        .iter()
        .find(|p| p.severity() == hilum_core::Severity::Error)
    {
        return Err(LoadError::Geometry {
            series: series.series_instance_uid.clone(),
            problem: problem.clone(),
        });
    }

    let slice_len = layout.rows * layout.cols;
    let mut data = crate::alloc::volume_buffer(slice_len * layout.planes.len());

    // Hand each plane's slot to the file it comes from, so a multi-frame file is
    // read once and single-frame files are read in parallel.
    let mut by_file: Vec<Vec<(usize, &mut [i16])>> = (0..files.len()).map(|_| Vec::new()).collect();
    let mut interpolated = Vec::new();
    for (plane, slot) in layout.planes.iter().zip(data.chunks_mut(slice_len)) {
        match *plane {
            GridPlane::Slice(n) => by_file[frames[n].file].push((frames[n].frame, slot)),
            GridPlane::Interpolated { .. } => interpolated.push(plane),
        }
    }
    by_file
        .into_par_iter()
        .enumerate()
        .filter(|(_, slots)| !slots.is_empty())
        .try_for_each(|(f, slots)| decode_file(files[f], slots))?;

    fill_interpolated(&mut data, &layout.planes, slice_len);

    Ok(LoadedSeries {
        volume: Volume {
            dims: [layout.cols, layout.rows, layout.planes.len()],
            affine: layout.affine,
            data,
        },
        problems: layout.problems,
    })
}

fn image(h: &FileHeader) -> &ImageHeader {
    h.image.as_ref().expect("image_files() yields images only")
}

thread_local! {
    /// One reusable read buffer per worker thread: no allocation per file.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn read_into(h: &FileHeader, buf: &mut Vec<u8>) -> Result<(), FileError> {
    buf.clear();
    let mut file = std::fs::File::open(&h.path).map_err(|e| FileError::new(&h.path, e))?;
    buf.reserve(h.file_len as usize);
    file.read_to_end(buf)
        .map_err(|e| FileError::new(&h.path, e))?;
    Ok(())
}

fn decode_file(h: &FileHeader, mut slots: Vec<(usize, &mut [i16])>) -> Result<(), FileError> {
    if can_read_in_place(h) {
        match read_in_place(h, &mut slots) {
            Ok(true) => return Ok(()),
            Ok(false) => {} // header larger than the prefix read: use the general path
            Err(e) => return Err(e),
        }
    }
    READ_BUFFER.with_borrow_mut(|buf| {
        read_into(h, buf)?;
        decode_frames(h, buf, slots)
    })
}

/// Uncompressed 16-bit grayscale on a little-endian host: the file's pixel bytes
/// are already the volume's memory layout.
fn can_read_in_place(h: &FileHeader) -> bool {
    let img = image(h);
    cfg!(target_endian = "little")
        && is_native_syntax(&h.transfer_syntax)
        && img.bits_allocated == 16
        && img.samples_per_pixel == 1
        && img.photometric.starts_with("MONOCHROME")
}

/// How much of a file is read to find the pixel data (headers are a few KiB).
const HEADER_PREFIX: usize = 64 * 1024;

/// Reads each frame's bytes straight into its slot in the volume and rescales
/// them there: one copy from the page cache, as cheap as reading the file.
/// Returns `Ok(false)` when the pixel data does not start within the prefix.
fn read_in_place(h: &FileHeader, slots: &mut [(usize, &mut [i16])]) -> Result<bool, FileError> {
    use std::os::unix::fs::FileExt;
    let img = image(h);
    let file = std::fs::File::open(&h.path).map_err(|e| FileError::new(&h.path, e))?;
    let frame_bytes = img.frame_bytes();
    let start = match h.pixel_data_offset {
        Some(offset) => offset as usize,
        None => {
            let mut prefix = [0u8; HEADER_PREFIX];
            let mut n = 0;
            while n < prefix.len() {
                match file.read_at(&mut prefix[n..], n as u64) {
                    Ok(0) => break,
                    Ok(read) => n += read,
                    Err(e) => return Err(FileError::new(&h.path, e)),
                }
            }
            let total = frame_bytes * img.frames.len();
            match find_pixel_data_in_prefix(&prefix[..n], total, h.file_len as usize) {
                Some(start) => start,
                None => return Ok(false),
            }
        }
    };
    for (frame, out) in slots.iter_mut() {
        let at = (start + *frame * frame_bytes) as u64;
        file.read_exact_at(bytemuck::cast_slice_mut(out), at)
            .map_err(|e| FileError::new(&h.path, format!("pixel data unreadable: {e}")))?;
        stored_to_hu_in_place(out, format_of(img, *frame));
    }
    Ok(true)
}

fn format_of(img: &ImageHeader, frame: usize) -> PixelFormat {
    PixelFormat {
        bits_allocated: img.bits_allocated,
        bits_stored: img.bits_stored,
        signed: img.signed,
        slope: img.frames[frame].slope,
        intercept: img.frames[frame].intercept,
    }
}

/// Decodes every frame of a file held in memory into HU, frame after frame.
/// The same code the loader runs; also the entry point for fuzzing.
pub fn decode_all_frames(h: &FileHeader, bytes: &[u8]) -> Result<Vec<i16>, FileError> {
    let img = h
        .image
        .as_ref()
        .ok_or_else(|| FileError::new(&h.path, "not an image"))?;
    let frame_len = img.rows * img.cols;
    let mut out = vec![0i16; frame_len * img.frames.len()];
    let slots = out.chunks_mut(frame_len).enumerate().collect();
    decode_frames(h, bytes, slots)?;
    Ok(out)
}

fn decode_frames(
    h: &FileHeader,
    bytes: &[u8],
    slots: Vec<(usize, &mut [i16])>,
) -> Result<(), FileError> {
    let img = image(h);
    if img.samples_per_pixel != 1 || !img.photometric.starts_with("MONOCHROME") {
        return Err(FileError::new(
            &h.path,
            format!(
                "not a grayscale image ({} with {} samples per pixel)",
                img.photometric, img.samples_per_pixel
            ),
        ));
    }
    let format = |frame: usize| format_of(img, frame);
    let frame_bytes = img.frame_bytes();
    if is_native_syntax(&h.transfer_syntax) {
        let total = frame_bytes * img.frames.len();
        let start = find_pixel_data(bytes, total).ok_or_else(|| {
            FileError::new(
                &h.path,
                format!(
                    "no PixelData of the {total} bytes the header describes (truncated or missing)"
                ),
            )
        })?;
        slots.into_par_iter().for_each(|(frame, out)| {
            let at = start + frame * frame_bytes;
            stored_to_hu(&bytes[at..at + frame_bytes], format(frame), out);
        });
        Ok(())
    } else {
        decode_encapsulated(h, bytes, slots, format)
    }
}

/// Compressed transfer syntaxes: dicom-pixeldata's codecs (RLE, JPEG, JPEG-LS,
/// JPEG 2000), then the same rescale as the native path.
fn decode_encapsulated(
    h: &FileHeader,
    bytes: &[u8],
    slots: Vec<(usize, &mut [i16])>,
    format: impl Fn(usize) -> PixelFormat,
) -> Result<(), FileError> {
    let obj = contain_panics(&h.path, "DICOM data set", || {
        OpenFileOptions::new()
            .from_reader(bytes)
            .map_err(|e| FileError::new(&h.path, format!("unreadable DICOM: {e}")))
    })?;
    let img = image(h);
    for (frame, out) in slots {
        contain_panics(&h.path, "compressed pixel data", || {
            let decoded = obj.decode_pixel_data_frame(frame as u32).map_err(|e| {
                FileError::new(
                    &h.path,
                    format!("cannot decode pixel data ({}): {e}", h.transfer_syntax),
                )
            })?;
            let data = decoded.data();
            let needed = img.frame_bytes();
            if data.len() < needed {
                return Err(FileError::new(
                    &h.path,
                    format!("decoded frame has {} bytes, expected {needed}", data.len()),
                ));
            }
            stored_to_hu(&data[..needed], format(frame), out);
            Ok(())
        })?;
    }
    Ok(())
}

fn fill_interpolated(data: &mut [i16], planes: &[GridPlane], slice_len: usize) {
    let index_of = |n: usize| {
        planes
            .iter()
            .position(|p| *p == GridPlane::Slice(n))
            .expect("interpolation neighbours are grid planes")
    };
    for (k, plane) in planes.iter().enumerate() {
        if let GridPlane::Interpolated { below, above, t } = *plane {
            let (b, a) = (index_of(below), index_of(above));
            let lower: Vec<i16> = data[b * slice_len..(b + 1) * slice_len].to_vec();
            let upper: Vec<i16> = data[a * slice_len..(a + 1) * slice_len].to_vec();
            for (i, out) in data[k * slice_len..(k + 1) * slice_len]
                .iter_mut()
                .enumerate()
            {
                let v = f64::from(lower[i]) * (1.0 - t) + f64::from(upper[i]) * t;
                *out = v.round() as i16;
            }
        }
    }
}
