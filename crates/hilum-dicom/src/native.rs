//! Finding the uncompressed PixelData value inside a file's bytes, so a frame
//! can be converted straight from the read buffer into the volume: one read,
//! one pass, no intermediate copies.

const PIXEL_DATA_TAG: [u8; 4] = [0xE0, 0x7F, 0x10, 0x00];

/// Returns the byte offset of the PixelData value of `expected_len` bytes, for
/// explicit or implicit VR little endian. The tag is searched from the start;
/// a candidate counts only if its length field matches the size the header
/// promised (rounded up to even) and the value fits in the file, which rules
/// out look-alike bytes inside other values and icon images.
pub fn find_pixel_data(bytes: &[u8], expected_len: usize) -> Option<usize> {
    find_pixel_data_in_prefix(bytes, expected_len, bytes.len())
}

/// As [`find_pixel_data`], searching only `prefix`, the first bytes of a file of
/// `file_len` bytes: the value itself need not have been read yet.
pub fn find_pixel_data_in_prefix(
    bytes: &[u8],
    expected_len: usize,
    file_len: usize,
) -> Option<usize> {
    let padded = expected_len + expected_len % 2;
    let mut from = 0;
    while let Some(pos) = find(&bytes[from..], &PIXEL_DATA_TAG).map(|p| p + from) {
        let after = &bytes[pos + 4..];
        // Explicit VR: "OW"/"OB", two reserved bytes, u32 length.
        if after.len() >= 8 && (&after[..2] == b"OW" || &after[..2] == b"OB") {
            let len = u32::from_le_bytes([after[4], after[5], after[6], after[7]]) as usize;
            let start = pos + 12;
            if (len == expected_len || len == padded) && start + expected_len <= file_len {
                return Some(start);
            }
        }
        // Implicit VR: u32 length straight after the tag.
        if after.len() >= 4 {
            let len = u32::from_le_bytes([after[0], after[1], after[2], after[3]]) as usize;
            let start = pos + 8;
            if (len == expected_len || len == padded) && start + expected_len <= file_len {
                return Some(start);
            }
        }
        from = pos + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8; 4]) -> Option<usize> {
    haystack.windows(4).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_explicit_and_implicit_and_rejects_wrong_lengths() {
        let mut explicit = vec![1u8; 50];
        // A decoy tag whose length does not match.
        explicit.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 2, 0, 0, 0]);
        explicit.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 6, 0, 0, 0]);
        let start = explicit.len();
        explicit.extend_from_slice(&[9; 6]);
        assert_eq!(find_pixel_data(&explicit, 6), Some(start));
        assert_eq!(find_pixel_data(&explicit, 8), None);

        let mut implicit = vec![0u8; 10];
        implicit.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, 4, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(find_pixel_data(&implicit, 4), Some(18));
        // Truncated value: promised 4 bytes, 3 present.
        assert_eq!(find_pixel_data(&implicit[..implicit.len() - 1], 4), None);
    }
}
