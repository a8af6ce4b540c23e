//! A small non-cryptographic random number generator for jitter, pool shuffling and inbox tokens.
//!
//! None of these uses needs unpredictability against an attacker: jitter and shuffling spread
//! clients out, inbox tokens only need to be unique within one connection's inbox prefix (whose
//! random part is 22 characters). Seeded from the standard library's per-process random keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64: tiny, fast, and good enough for spreading values uniformly.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

static STREAM: AtomicU64 = AtomicU64::new(0);

impl Rng {
    /// A generator seeded from fresh process-level randomness.
    pub(crate) fn new() -> Rng {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(STREAM.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        Rng {
            state: hasher.finish(),
        }
    }

    /// A generator with a fixed seed (tests).
    #[cfg(test)]
    pub(crate) fn with_seed(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for jitter and shuffling.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A uniformly random duration in `[0, bound)`.
    pub(crate) fn duration_below(&mut self, bound: std::time::Duration) -> std::time::Duration {
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        std::time::Duration::from_nanos(self.below(nanos))
    }

    /// Fisher–Yates shuffle of `items`.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// `len` characters from the base-62 alphabet (inbox prefixes and request tokens).
    pub(crate) fn base62(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..len)
            .map(|_| char::from(ALPHABET[self.below(62) as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::with_seed(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = rng.below(10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = Rng::with_seed(1);
        let mut v: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted, "50 elements left in order by a shuffle");
    }

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = Rng::new().base62(22);
        assert_eq!(s.len(), 22);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
