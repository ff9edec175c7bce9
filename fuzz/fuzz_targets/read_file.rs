//! Any bytes, read as a DICOM file the way the loader reads one: header (until
//! the pixel data), then every frame decoded to HU. Errors are fine; panics that
//! escape, hangs and runaway allocations are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Once;

static QUIET_CONTAINED_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // Hilum contains panics from third-party codecs (contain_panics); libFuzzer's
    // hook would abort on them even though they are caught. A panic that escapes
    // to the harness still aborts, so real bugs are still found.
    QUIET_CONTAINED_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(header) = hilum_dicom::read_header_bytes(data, Path::new("fuzz.dcm")) {
        if header.image.is_some() {
            let _ = hilum_dicom::decode_all_frames(&header, data);
        }
    }
});
