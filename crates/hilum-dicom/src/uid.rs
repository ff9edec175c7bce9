//! UIDs for objects Hilum creates: the UUID-derived root `2.25` (PS3.5 B.2),
//! made from a seed so that generated data is reproducible.

/// A `2.25.<decimal>` UID from 128 bits.
pub fn from_u128(value: u128) -> String {
    format!("2.25.{value}")
}

/// A deterministic 128-bit value from a string (two FNV-1a passes).
pub fn hash128(text: &str) -> u128 {
    let fnv = |seed: u64| {
        text.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let hi = fnv(0xcbf2_9ce4_8422_2325);
    let lo = fnv(0x84222325_cbf29ce4);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A deterministic UID for `name` (e.g. "phantom/7/series").
pub fn for_name(name: &str) -> String {
    from_u128(hash128(name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_are_valid_and_stable() {
        let a = super::for_name("phantom/1/study");
        assert_eq!(a, super::for_name("phantom/1/study"));
        assert_ne!(a, super::for_name("phantom/2/study"));
        assert!(a.len() <= 64, "{a}");
        assert!(a.chars().all(|c| c.is_ascii_digit() || c == '.'));
        // No leading zeros in components (PS3.5 9.1).
        assert!(a.split('.').all(|c| c == "0" || !c.starts_with('0')));
    }
}
