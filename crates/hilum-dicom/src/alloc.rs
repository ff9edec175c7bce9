//! Allocation of the volume buffer.
//!
//! A 512×512×300 volume is 150 MB of fresh memory; with 4 KiB pages the kernel
//! takes ~37,000 page faults (each zeroing a page) as the decoder first writes
//! it, which costs more than decoding. Asking for transparent huge pages turns
//! that into ~75 faults.

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
    fn buffer_is_zeroed_and_sized() {
        let v: Vec<i16> = super::zeroed_buffer(3 << 20);
        assert_eq!(v.len(), 3 << 20);
        assert!(v.iter().all(|&x| x == 0));
    }
}
