//! Stored pixel values → Hounsfield units (i16).

/// How stored samples are laid out and rescaled.
#[derive(Clone, Copy, Debug)]
pub struct PixelFormat {
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub slope: f64,
    pub intercept: f64,
}

/// Converts one frame of little-endian stored samples to HU, saturating at the
/// i16 range. Bits above BitsStored are masked off (they may hold overlays or
/// garbage) and signed values are sign-extended from BitsStored.
pub fn stored_to_hu(src: &[u8], format: PixelFormat, out: &mut [i16]) {
    let integral = format.slope == 1.0 && format.intercept.fract() == 0.0;
    match (format.bits_allocated, integral) {
        // The common CT case: 16-bit samples, slope 1, integer intercept. Kept a
        // branch-free loop over fixed formats so it vectorises.
        (16, true) => {
            let offset = format.intercept as i32;
            let unused = 16 - u32::from(format.bits_stored.min(16));
            if format.signed {
                for (o, b) in out.iter_mut().zip(src.chunks_exact(2)) {
                    let v = (i16::from_le_bytes([b[0], b[1]]) << unused) >> unused;
                    *o = (i32::from(v) + offset).clamp(-32768, 32767) as i16;
                }
            } else {
                let mask = (u32::from(u16::MAX) >> unused) as u16;
                for (o, b) in out.iter_mut().zip(src.chunks_exact(2)) {
                    let v = u16::from_le_bytes([b[0], b[1]]) & mask;
                    *o = (i32::from(v) + offset).clamp(-32768, 32767) as i16;
                }
            }
        }
        _ => general(src, format, out),
    }
}

/// As [`stored_to_hu`] for 16-bit samples already read into `values` (their
/// little-endian bytes, on a little-endian host): rescaled in place.
pub fn stored_to_hu_in_place(values: &mut [i16], format: PixelFormat) {
    debug_assert_eq!(format.bits_allocated, 16);
    let integral = format.slope == 1.0 && format.intercept.fract() == 0.0;
    if !integral {
        let raw: Vec<u8> = bytemuck::cast_slice(values).to_vec();
        return general(&raw, format, values);
    }
    let offset = format.intercept as i32;
    let unused = 16 - u32::from(format.bits_stored.min(16));
    // When every stored value and the offset fit in i16, a 16-bit saturating add
    // equals the i32 add-and-clamp, and it vectorises (8–16 lanes).
    let narrow = i16::try_from(offset)
        .ok()
        .filter(|_| format.signed || unused >= 1);
    match (format.signed, narrow) {
        (true, Some(o)) => {
            for v in values.iter_mut() {
                *v = ((i16::from_le(*v) << unused) >> unused).saturating_add(o);
            }
        }
        (false, Some(o)) => {
            let mask = (u16::MAX >> unused) as i16;
            for v in values.iter_mut() {
                *v = (i16::from_le(*v) & mask).saturating_add(o);
            }
        }
        (true, None) => {
            for v in values.iter_mut() {
                let s = (i16::from_le(*v) << unused) >> unused;
                *v = (i32::from(s) + offset).clamp(-32768, 32767) as i16;
            }
        }
        (false, None) => {
            let mask = u16::MAX >> unused;
            for v in values.iter_mut() {
                let u = u16::from_le(*v as u16) & mask;
                *v = (i32::from(u) + offset).clamp(-32768, 32767) as i16;
            }
        }
    }
}

/// Any bit depth and rescale, one sample at a time.
fn general(src: &[u8], format: PixelFormat, out: &mut [i16]) {
    let bits = u32::from(format.bits_stored);
    let mask: u32 = if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    let sign_shift = 32 - bits;
    let decode = |raw: u32| -> f64 {
        let v = raw & mask;
        f64::from(if format.signed {
            ((v << sign_shift) as i32) >> sign_shift
        } else {
            v as i32
        })
    };
    let rescale = |v: f64| -> i16 {
        (v * format.slope + format.intercept)
            .round()
            .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
    };
    if format.bits_allocated == 16 {
        for (o, b) in out.iter_mut().zip(src.chunks_exact(2)) {
            *o = rescale(decode(u32::from(u16::from_le_bytes([b[0], b[1]]))));
        }
    } else {
        for (o, &b) in out.iter_mut().zip(src) {
            *o = rescale(decode(u32::from(b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(bits_stored: u16, signed: bool, slope: f64, intercept: f64) -> PixelFormat {
        PixelFormat {
            bits_allocated: 16,
            bits_stored,
            signed,
            slope,
            intercept,
        }
    }

    fn le(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn unsigned_with_intercept() {
        let mut out = [0i16; 3];
        stored_to_hu(
            &le(&[0, 1024, 4095]),
            fmt(12, false, 1.0, -1024.0),
            &mut out,
        );
        assert_eq!(out, [-1024, 0, 3071]);
    }

    #[test]
    fn signed_12_bit_is_sign_extended_and_high_bits_masked() {
        let mut out = [0i16; 3];
        // 0xF000 garbage above bit 11; 0x0FFF is -1 in 12-bit two's complement.
        stored_to_hu(
            &le(&[0xF000 | 0x0FFF, 0x0800, 0x07FF]),
            fmt(12, true, 1.0, 0.0),
            &mut out,
        );
        assert_eq!(out, [-1, -2048, 2047]);
    }

    #[test]
    fn fractional_slope_rounds_and_saturates() {
        let mut out = [0i16; 3];
        stored_to_hu(&le(&[3, 65535, 0]), fmt(16, false, 0.5, -1000.25), &mut out);
        assert_eq!(out, [-999, 31767, -1000]);
        stored_to_hu(&le(&[65535, 0, 1]), fmt(16, false, 2.0, -40000.5), &mut out);
        assert_eq!(out, [i16::MAX, i16::MIN, i16::MIN]);
    }

    #[test]
    fn in_place_matches_the_copying_conversion() {
        let raw: Vec<u16> = vec![0, 1, 0x0FFF, 0x0800, 0xF123, 4095, 0x8000, 0x7FFF, 65535];
        for format in [
            fmt(12, false, 1.0, -1024.0),
            fmt(12, true, 1.0, 0.0),
            fmt(16, true, 1.0, -1024.0),
            fmt(16, true, 1.0, 30000.0),
            fmt(16, false, 1.0, -1024.0),
            fmt(15, false, 1.0, 40000.0),
            fmt(16, false, 0.5, -100.5),
        ] {
            let mut expected = vec![0i16; raw.len()];
            stored_to_hu(&le(&raw), format, &mut expected);
            let mut in_place: Vec<i16> = raw
                .iter()
                .map(|&v| i16::from_le_bytes(v.to_le_bytes()))
                .collect();
            stored_to_hu_in_place(&mut in_place, format);
            assert_eq!(in_place, expected, "{format:?}");
        }
    }

    #[test]
    fn eight_bit_samples() {
        let mut out = [0i16; 2];
        let f = PixelFormat {
            bits_allocated: 8,
            ..fmt(8, false, 2.0, -100.0)
        };
        stored_to_hu(&[0, 255], f, &mut out);
        assert_eq!(out, [-100, 410]);
    }
}
