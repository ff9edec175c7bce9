//! A pre-flight walk over a file's header that checks every declared element
//! length against the bytes that can follow it. dicom-rs allocates what a
//! length field claims before reading; a corrupt 2 KiB file claiming a 4 GiB
//! element would otherwise cost a 4 GiB allocation (found by fuzzing).

/// VRs with a 2-byte reserved field and a 4-byte length in explicit VR.
pub(crate) const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UT", b"UN", b"UC", b"UR", b"SV", b"UV",
];
const UNDEFINED: u32 = u32::MAX;
const MAX_DEPTH: usize = 32;

struct Header {
    tag: (u16, u16),
    sequence: bool,
    len: u32,
    value: usize,
}

struct Walker<'a> {
    bytes: &'a [u8],
    explicit: bool,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Walker<'_> {
    /// The element header at `pos`, or `None` when it lies beyond the bytes read.
    fn header(&self, pos: usize, explicit: bool) -> Option<Header> {
        let b = self.bytes;
        if pos + 8 > b.len() {
            return None;
        }
        let tag = (u16_at(b, pos), u16_at(b, pos + 2));
        if tag.0 == 0xFFFE || !explicit {
            return Some(Header {
                tag,
                sequence: false,
                len: u32_at(b, pos + 4),
                value: pos + 8,
            });
        }
        let vr = [b[pos + 4], b[pos + 5]];
        if LONG_VRS.contains(&&vr) {
            if pos + 12 > b.len() {
                return None;
            }
            Some(Header {
                tag,
                sequence: &vr == b"SQ",
                len: u32_at(b, pos + 8),
                value: pos + 12,
            })
        } else {
            Some(Header {
                tag,
                sequence: false,
                len: u32::from(u16_at(b, pos + 6)),
                value: pos + 8,
            })
        }
    }

    /// Walks elements from `pos` up to `limit` (the end of the enclosing item or
    /// the file). Returns where the walk ended, or `None` when it ran past the
    /// bytes read (nothing more can be checked, nothing wrong was found).
    fn walk(&self, mut pos: usize, limit: usize, depth: usize) -> Result<Option<usize>, String> {
        if depth > MAX_DEPTH {
            return Err("sequences nested too deep".into());
        }
        while pos < limit {
            let Some(h) = self.header(pos, self.explicit) else {
                return Ok(None);
            };
            match h.tag {
                (0xFFFE, 0xE00D) | (0xFFFE, 0xE0DD) => return Ok(Some(h.value)),
                (0x7FE0, 0x0010) if depth == 0 => return Ok(Some(pos)),
                _ => {}
            }
            let container = h.sequence || h.tag == (0xFFFE, 0xE000);
            if h.len == UNDEFINED {
                // A sequence or item ended by a delimiter (or encapsulated data).
                match self.walk(h.value, limit, depth + 1)? {
                    Some(end) => pos = end,
                    None => return Ok(None),
                }
                continue;
            }
            let end = h.value + h.len as usize;
            if end > limit {
                return Err(format!(
                    "element ({:04X},{:04X}) declares {} bytes, past the end of the {}",
                    h.tag.0,
                    h.tag.1,
                    h.len,
                    if depth == 0 { "file" } else { "enclosing item" }
                ));
            }
            if container && self.walk(h.value, end, depth + 1)?.is_none() {
                return Ok(None);
            }
            pos = end;
        }
        Ok(Some(pos))
    }
}

/// Checks the declared lengths in `prefix`, the first bytes of a file of
/// `file_len` bytes. Only what `prefix` holds is checked.
pub(crate) fn check_declared_lengths(prefix: &[u8], file_len: usize) -> Result<(), String> {
    let start = if prefix.len() >= 132 && &prefix[128..132] == b"DICM" {
        132
    } else if prefix.len() >= 4 && &prefix[..4] == b"DICM" {
        4
    } else {
        return Ok(()); // not Part 10: the parser reports that itself
    };
    // File meta group: always explicit VR little endian.
    let meta = Walker {
        bytes: prefix,
        explicit: true,
    };
    let mut pos = start;
    let mut transfer_syntax = String::new();
    while let Some(h) = meta.header(pos, true) {
        if h.tag.0 != 0x0002 {
            break;
        }
        let end = h.value + h.len as usize;
        if h.len == UNDEFINED || end > file_len {
            return Err(format!(
                "file meta element (0002,{:04X}) declares {} bytes, past the end of the file",
                h.tag.1, h.len
            ));
        }
        if h.tag.1 == 0x0010 && end <= prefix.len() {
            transfer_syntax = String::from_utf8_lossy(&prefix[h.value..end])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = end;
    }
    let explicit = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => false,
        // Deflated and big-endian data sets are not walked here.
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.2" => return Ok(()),
        _ => true,
    };
    Walker {
        bytes: prefix,
        explicit,
    }
    .walk(pos, file_len, 0)
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dataset: &[u8], ts: &str) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        let mut ts_value = ts.as_bytes().to_vec();
        if ts_value.len() % 2 == 1 {
            ts_value.push(0);
        }
        f.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        f.extend_from_slice(&(ts_value.len() as u16).to_le_bytes());
        f.extend_from_slice(&ts_value);
        f.extend_from_slice(dataset);
        f
    }

    #[test]
    fn accepts_consistent_lengths_and_sequences() {
        // (0010,0010) PN "AB", an undefined-length SQ with one defined item, pixel data.
        let mut ds = vec![0x10, 0x00, 0x10, 0x00, b'P', b'N', 2, 0, b'A', b'B'];
        ds.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0]);
        ds.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, b'U', b'I', 2, 0, b'1', 0]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        ds.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 4, 0, 0, 0, 1, 2, 3, 4,
        ]);
        let f = file(&ds, "1.2.840.10008.1.2.1");
        assert_eq!(check_declared_lengths(&f, f.len()), Ok(()));
    }

    #[test]
    fn rejects_a_length_past_the_end() {
        let ds = [
            0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0xF0, 0xFF, 0xFF, 0x7F, 1, 2,
        ];
        let f = file(&ds, "1.2.840.10008.1.2.1");
        let e = check_declared_lengths(&f, f.len()).unwrap_err();
        assert!(e.contains("(0010,0010)"), "{e}");
    }

    #[test]
    fn rejects_an_inner_length_past_its_item() {
        let mut ds = vec![0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 20, 0, 0, 0];
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0]);
        ds.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, b'U', b'T', 0, 0, 0, 0, 0, 1]);
        let f = file(&ds, "1.2.840.10008.1.2.1");
        assert!(check_declared_lengths(&f, f.len()).is_err());
    }

    #[test]
    fn implicit_vr_lengths_are_checked_too() {
        let ds = [0x10, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x40];
        let f = file(&ds, "1.2.840.10008.1.2");
        assert!(check_declared_lengths(&f, f.len()).is_err());
    }
}
