//! Service instance ids: 22 base62 characters (as long as a NUID), unique per instance.
//!
//! The characters come from the client's generator for inbox tokens (`rng`), seeded from std's
//! randomly keyed hasher, the clock and a process-wide counter. Not a secret: ids are published
//! in every discovery response.

/// Length of an id.
pub(crate) const ID_LEN: usize = 22;

/// A new instance id.
pub(crate) fn new_id() -> String {
    crate::rng::Rng::new().base62(ID_LEN)
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
