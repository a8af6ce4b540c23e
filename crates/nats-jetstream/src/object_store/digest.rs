//! The names and encodings of ADR-20: bucket and object name checks, the meta subject's
//! `base64url(name)`, the `SHA-256=<base64url>` digest (J25, J26).

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::error::NameError;

/// The prefix of an object digest.
pub(crate) const DIGEST_PREFIX: &str = "SHA-256=";

/// Checks a bucket name: `[a-zA-Z0-9_-]+` (ADR-20), at most 255 bytes minus the `OBJ_` prefix.
pub(crate) fn validate_bucket(name: &str) -> Result<(), NameError> {
    let fail = |reason: String| {
        Err(NameError {
            what: "bucket",
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("empty".into());
    }
    if name.len() > 251 {
        return fail("longer than 251 bytes".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return fail(format!("contains {c:?} (allowed: a-z, A-Z, 0-9, _ and -)"));
    }
    Ok(())
}

/// Checks an object name: not empty, no leading or trailing `.`, no control characters (any
/// other UTF-8 is fine: the subject carries it base64url-encoded).
pub(crate) fn validate_object(name: &str) -> Result<(), NameError> {
    let fail = |reason: String| {
        Err(NameError {
            what: "object",
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("empty".into());
    }
    if name.starts_with('.') || name.ends_with('.') {
        return fail("starts or ends with '.'".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return fail(format!("contains {c:?}"));
    }
    Ok(())
}

/// URL-safe base64 with padding (Go's `base64.URLEncoding`), as ADR-20 encodes names and
/// digests.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// `$O.<bucket>.M.<base64url(name)>`.
pub(crate) fn meta_subject(bucket: &str, name: &str) -> String {
    format!("$O.{bucket}.M.{}", base64url(name.as_bytes()))
}

/// `$O.<bucket>.C.<nuid>`.
pub(crate) fn chunk_subject(bucket: &str, nuid: &str) -> String {
    format!("$O.{bucket}.C.{nuid}")
}

/// The running SHA-256 of an object's bytes.
#[derive(Clone, Default)]
pub(crate) struct Hasher(Sha256);

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// `SHA-256=<base64url of the sum>`.
    pub(crate) fn finish(self) -> String {
        format!("{DIGEST_PREFIX}{}", base64url(&self.0.finalize()))
    }
}

/// Two digests name the same sum: the prefix is case-insensitive, and the base64 may be
/// URL-safe or standard, padded or not (other clients differ in these).
pub(crate) fn same_digest(a: &str, b: &str) -> bool {
    let sum = |d: &str| {
        let (prefix, value) = d.split_at_checked(DIGEST_PREFIX.len())?;
        if !prefix.eq_ignore_ascii_case(DIGEST_PREFIX) {
            return None;
        }
        crate::wire::base64_decode(value)
    };
    match (sum(a), sum(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_base64url() {
        let mut h = Hasher::default();
        h.update(b"hello world");
        // sha256("hello world") = b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9
        assert_eq!(
            h.finish(),
            "SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            Hasher::default().finish(),
            "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(same_digest(
            "SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek=",
            "sha-256=uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek"
        ));
        assert!(!same_digest(
            "SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek=",
            "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
        ));
    }

    #[test]
    fn subjects() {
        assert_eq!(meta_subject("files", "a/b?"), "$O.files.M.YS9iPw==");
        assert_eq!(chunk_subject("files", "N1"), "$O.files.C.N1");
    }

    #[test]
    fn names() {
        for (name, ok) in [
            ("files", true),
            ("my-bucket_1", true),
            ("", false),
            ("a.b", false),
            ("a b", false),
            ("a*", false),
        ] {
            assert_eq!(validate_bucket(name).is_ok(), ok, "{name:?}");
        }
        assert!(validate_bucket(&"x".repeat(252)).is_err());
        for (name, ok) in [
            ("report.pdf", true),
            ("dir/with spaces/ünïcode ✓", true),
            ("", false),
            (".hidden", false),
            ("trailing.", false),
            ("bell\u{7}", false),
        ] {
            assert_eq!(validate_object(name).is_ok(), ok, "{name:?}");
        }
    }
}
