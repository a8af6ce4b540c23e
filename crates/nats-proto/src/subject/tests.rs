use super::*;

#[test]
fn queue_groups_are_checked_like_validate_queue_group() {
    for name in ["q", "workers", "billing.v2", "a*b", "ü"] {
        assert_eq!(
            QueueGroup::try_from(name).map(|q| q.to_string()),
            Ok(name.to_owned())
        );
    }
    for name in ["", "two words", "tab\there", "line\r\n"] {
        assert_eq!(
            QueueGroup::try_from(name.to_owned()),
            Err(SubjectError::InvalidQueueGroup),
            "{name:?}"
        );
        assert_eq!(
            validate_queue_group(name),
            Err(SubjectError::InvalidQueueGroup)
        );
    }
}

#[test]
fn publish_table() {
    use SubjectError::*;
    let rows: &[(&str, Result<(), SubjectError>)] = &[
        ("foo", Ok(())),
        ("foo.bar.baz", Ok(())),
        ("FOO.Bar-1_2", Ok(())),
        ("ü.ñ", Ok(())),
        ("", Err(Empty)),
        (".", Err(EmptyToken)),
        (".foo", Err(EmptyToken)),
        ("foo.", Err(EmptyToken)),
        ("foo..bar", Err(EmptyToken)),
        ("foo bar", Err(Whitespace)),
        ("foo\tbar", Err(Whitespace)),
        ("foo\r\nPUB x 1", Err(Whitespace)),
        ("foo\n", Err(Whitespace)),
        ("foo.*", Err(Wildcard)),
        ("foo.>", Err(Wildcard)),
        ("a*b", Err(Wildcard)),
    ];
    for (s, expected) in rows {
        assert_eq!(validate_publish_subject(s), *expected, "subject {s:?}");
    }
}

#[test]
fn subscribe_table() {
    use SubjectError::*;
    let rows: &[(&str, Result<(), SubjectError>)] = &[
        ("foo", Ok(())),
        ("*", Ok(())),
        (">", Ok(())),
        ("foo.*", Ok(())),
        ("*.foo.*", Ok(())),
        ("foo.>", Ok(())),
        ("*.>", Ok(())),
        ("", Err(Empty)),
        ("foo..bar", Err(EmptyToken)),
        ("foo.", Err(EmptyToken)),
        (".>", Err(EmptyToken)),
        ("foo bar", Err(Whitespace)),
        ("foo.>.bar", Err(BadWildcard)),
        (">.", Err(BadWildcard)),
        ("foo.*bar", Err(BadWildcard)),
        ("foo.bar*", Err(BadWildcard)),
        ("foo.>>", Err(BadWildcard)),
        ("foo.*>", Err(BadWildcard)),
        ("a>", Err(BadWildcard)),
    ];
    for (s, expected) in rows {
        assert_eq!(validate_subscribe_subject(s), *expected, "filter {s:?}");
    }
}

#[test]
fn queue_group_table() {
    let rows: &[(&str, bool)] = &[
        ("q", true),
        ("q.x-1", true),
        ("", false),
        ("a b", false),
        ("a\r", false),
    ];
    for (s, ok) in rows {
        assert_eq!(validate_queue_group(s).is_ok(), *ok, "queue {s:?}");
    }
}

#[test]
fn newtypes() {
    assert_eq!(Subject::from_static("a.b").as_str(), "a.b");
    assert_eq!(SubjectFilter::from_static("a.*").to_string(), "a.*");
    assert_eq!("a.>".parse::<Subject>(), Err(SubjectError::Wildcard));
    assert_eq!(
        Subject::try_from("x".repeat(MAX_SUBJECT_LEN + 1)),
        Err(SubjectError::TooLong)
    );
}

#[test]
fn subject_compares_hashes_and_serializes_like_str() {
    use std::collections::HashSet;
    let s = Subject::from_static("a.b");
    assert_eq!(s, "a.b");
    assert_eq!("a.b", s);
    let set: HashSet<Subject> = [s.clone()].into_iter().collect();
    assert!(set.contains("a.b"));
    assert_eq!(serde_json::to_string(&s).unwrap_or_default(), "\"a.b\"");
    assert!(serde_json::from_str::<Subject>("\"a.*\"").is_err());
    let wire = Subject::from_wire(Bytes::from_static(b"x.\xff"));
    assert_eq!(wire.as_str(), "x.\u{fffd}");
}

#[test]
fn a_received_subject_with_a_wildcard_is_refused_for_publishing() {
    let wire = |s: &'static str| Subject::from_wire(Bytes::from_static(s.as_bytes()));
    assert_eq!(wire("orders.*").as_subject(), Err(SubjectError::Wildcard));
    assert_eq!(wire("inbox.>").as_subject(), Err(SubjectError::Wildcard));
    assert_eq!(wire("a*b").as_subject(), Err(SubjectError::Wildcard));
    assert_eq!(
        wire("$JS.ACK.S.C.1.2.3.4.0").as_subject(),
        Ok("$JS.ACK.S.C.1.2.3.4.0")
    );
    // what is built is checked when built
    assert_eq!(Subject::try_from("orders.*"), Err(SubjectError::Wildcard));
    assert_eq!(Subject::from_static("a.b").as_subject(), Ok("a.b"));
}

#[test]
#[should_panic(expected = "invalid subject literal")]
fn from_static_panics() {
    let _ = Subject::from_static("a..b");
}
