//! Service instance ids: 22 base62 characters (as long as a NUID), unique per instance.
//!
//! The bits come from std's randomly keyed SipHash (`RandomState`, seeded from the operating
//! system once per thread) over the clock and a process-wide counter, so two instances started
//! in the same nanosecond, in one process or in two, still differ. Not a secret: ids are
//! published in every discovery response.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an id.
pub(crate) const ID_LEN: usize = 22;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new instance id.
pub(crate) fn new_id() -> String {
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let word = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(count);
        h.write_u64(salt);
        h.finish()
    };
    let mut n = (u128::from(word(1)) << 64) | u128::from(word(2));
    let mut out = String::with_capacity(ID_LEN);
    for _ in 0..ID_LEN {
        // 62^22 > 2^128: the 22 digits carry all 128 bits.
        let digit = (n % 62) as usize;
        n /= 62;
        out.push(char::from(ALPHABET[digit]));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_22_base62_chars_and_distinct() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert_eq!(id.len(), ID_LEN);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }
}
