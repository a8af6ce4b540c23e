//! Pure checks of what a service is configured with: names (`^[A-Za-z0-9\-_]+$`) and semantic
//! versions (semver 2.0), hand-written so no regex engine is needed.

/// Whether `name` is a valid service or endpoint name: not empty, only `A-Z a-z 0-9 - _`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `version` is a semantic version 2.0: `MAJOR.MINOR.PATCH`, numbers without leading
/// zeros, then an optional `-pre.release` (dot-separated identifiers of `0-9 A-Z a-z -`,
/// numeric ones without leading zeros) and an optional `+build.meta` (dot-separated non-empty
/// identifiers of `0-9 A-Z a-z -`).
pub(crate) fn is_semver(version: &str) -> bool {
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let mut parts = core.split('.');
    let core_ok =
        (0..3).all(|_| parts.next().is_some_and(is_numeric_identifier)) && parts.next().is_none();
    core_ok
        && pre.is_none_or(|p| p.split('.').all(is_prerelease_identifier))
        && build.is_none_or(|b| b.split('.').all(is_build_identifier))
}

/// A number without leading zeros: `0`, `7`, `42`; not `01`, not empty.
fn is_numeric_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_alnum_or_hyphen(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A pre-release identifier: numeric without leading zeros, or alphanumeric with a non-digit.
fn is_prerelease_identifier(s: &str) -> bool {
    if s.is_empty() || !s.bytes().all(is_alnum_or_hyphen) {
        return false;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return is_numeric_identifier(s);
    }
    true
}

/// A build identifier: any non-empty run of `0-9 A-Z a-z -` (leading zeros allowed).
fn is_build_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_alnum_or_hyphen)
}

/// Whether `token` can stand as one token of a `$SRV` subject: not empty, no `.`, no
/// wildcard, no whitespace.
pub(crate) fn is_subject_token(token: &str) -> bool {
    !token.is_empty()
        && !token
            .bytes()
            .any(|b| b == b'.' || b == b'*' || b == b'>' || b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "adder", "Adder-2_x", "0", "-", "_"] {
            assert!(is_valid_name(ok), "{ok:?}");
        }
        for bad in ["", "a b", "a.b", "a*", "a>", "ünï", "a\n", "a/b", "$SRV"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn semantic_versions() {
        // The examples of semver.org §9, §10 and §11.
        for ok in [
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-0.3.7",
            "1.0.0-x.7.z.92",
            "1.0.0-x-y-z.--",
            "1.0.0-alpha+001",
            "1.0.0+20130313144700",
            "1.0.0-beta+exp.sha.5114f85",
            "1.0.0+21AF26D3----117B344092BD",
            "1.0.0-rc.1+build.1",
            "2.0.0-0A",
            "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
        ] {
            assert!(is_semver(ok), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "v1.2.3",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-01",
            "1.2.3-alpha..1",
            "1.2.3-alpha_1",
            "1.2.3+build..1",
            "1.2.3 ",
            " 1.2.3",
            "a.b.c",
            "1.2.-3",
            "1..3",
            "1.2.3-+",
            "-1.2.3",
        ] {
            assert!(!is_semver(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn subject_tokens() {
        assert!(is_subject_token("adder"));
        assert!(is_subject_token("Ab12xyz"));
        for bad in ["", "a.b", "*", ">", "a b", "a\tb"] {
            assert!(!is_subject_token(bad), "{bad:?}");
        }
    }
}
