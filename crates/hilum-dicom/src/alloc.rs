//! Allocation of the volume buffer.
//!
//! A 512×512×300 volume is 150 MB of fresh memory; with 4 KiB pages the kernel
//! takes ~37,000 page faults (each zeroing a page) as the decoder first writes
//! it, which costs more than decoding. Asking for transparent huge pages turns
//! that into ~75 faults. Even so, the kernel zeroes every fresh page, which
//! costs as much again as reading the files; a batch that loads study after
//! study avoids it by handing each volume's memory back ([`recycle`]) for the
//! next load to reuse.

use std::sync::Mutex;

/// The last volume buffer handed back, not yet taken by a load.
static SPARE: Mutex<Option<Vec<i16>>> = Mutex::new(None);

/// Hands a volume's memory back so that the next load can reuse it instead of
/// fresh pages. One buffer is kept; a load that cannot use it frees it.
pub fn recycle(volume: hilum_core::Volume) {
    *SPARE.lock().unwrap_or_else(|e| e.into_inner()) = Some(volume.data);
}

/// A buffer of `len` voxels for a volume the caller will overwrite entirely:
/// the recycled buffer when it fits (its capacity at most 1.25 × `len`, so
/// peak memory stays near the volume's size), otherwise fresh zeroed memory.
///
/// A recycled buffer still holds the previous volume's voxels: the loader
/// writes every voxel or fails (the tests load into poisoned buffers).
pub(crate) fn volume_buffer(len: usize) -> Vec<i16> {
    let spare = SPARE.lock().unwrap_or_else(|e| e.into_inner()).take();
    match spare {
        Some(mut buffer) if buffer.capacity() >= len && buffer.capacity() <= len + len / 4 => {
            buffer.resize(len, 0);
            buffer
        }
        // Dropped before the new allocation: never two volumes' worth at once.
        Some(unfit) => {
            drop(unfit);
            zeroed_buffer(len)
        }
        None => zeroed_buffer(len),
    }
}

/// A zeroed buffer of `len` elements, backed by huge pages where the kernel allows.
pub fn zeroed_buffer<T: bytemuck::Pod>(len: usize) -> Vec<T> {
    let v = vec![T::zeroed(); len];
    advise_huge_pages(bytemuck::cast_slice::<T, u8>(&v));
    v
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge_pages(v: &[u8]) {
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize;
    let end = start + std::mem::size_of_val(v);
    let aligned_start = start.div_ceil(HUGE) * HUGE;
    let aligned_end = end / HUGE * HUGE;
    if aligned_end > aligned_start {
        // SAFETY: the range lies inside `v`'s live allocation, and MADV_HUGEPAGE
        // is advice only: it changes neither the contents nor the validity of
        // the memory. A failure (e.g. THP disabled) is harmless and ignored.
        unsafe {
            libc::madvise(
                aligned_start as *mut libc::c_void,
                aligned_end - aligned_start,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: &[u8]) {}

#[cfg(test)]
mod tests {
    #[test]
    fn recycled_buffer_is_reused_when_it_fits() {
        let volume = |len: usize| hilum_core::Volume {
            dims: [len, 1, 1],
            affine: hilum_core::Affine::axis_aligned([1.0, 1.0, 1.0]),
            data: vec![7; len],
        };
        let v = volume(1_000_000);
        let ptr = v.data.as_ptr();
        super::recycle(v);
        let reused = super::volume_buffer(900_000);
        assert_eq!(reused.as_ptr(), ptr);
        assert_eq!(reused.len(), 900_000);
        super::recycle(hilum_core::Volume {
            data: reused,
            ..volume(0)
        });
        // Grows back within its capacity; the new tail is zeroed.
        let regrown = super::volume_buffer(1_000_000);
        assert_eq!(regrown.as_ptr(), ptr);
        assert!(regrown[900_000..].iter().all(|&x| x == 0));
        super::recycle(hilum_core::Volume {
            data: regrown,
            ..volume(0)
        });
        // Too small, then (capacity over 1.25×) too large: fresh memory, and
        // the spare is gone either way.
        assert!(super::volume_buffer(1_300_000).iter().all(|&x| x == 0));
        assert!(super::SPARE.lock().unwrap().is_none());
        super::recycle(volume(2_000_000));
        assert!(super::volume_buffer(1_000_000).iter().all(|&x| x == 0));
        assert!(super::SPARE.lock().unwrap().is_none());
    }

    #[test]
    fn buffer_is_zeroed_and_sized() {
        let v: Vec<i16> = super::zeroed_buffer(3 << 20);
        assert_eq!(v.len(), 3 << 20);
        assert!(v.iter().all(|&x| x == 0));
    }
}
