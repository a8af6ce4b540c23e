//! Property test: a `HeaderMap` under random insert / append / remove behaves like a plain
//! vector of pairs, and what it encodes decodes back to the same map.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::BytesMut;
use nats_proto::HeaderMap;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(String, String),
    Append(String, String),
    Remove(String),
}

fn name() -> impl Strategy<Value = String> {
    // A few names, so operations meet earlier pairs of the same name.
    prop_oneof![
        Just("a".to_owned()),
        Just("Nats-Msg-Id".to_owned()),
        Just("X-Tag".to_owned()),
        "[!-9;-~]{1,6}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    // Any value without CR or LF: leading and trailing spaces, colons, non-ASCII text.
    "[ -~é€]{0,12}"
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (name(), value()).prop_map(|(n, v)| Op::Insert(n, v)),
        (name(), value()).prop_map(|(n, v)| Op::Append(n, v)),
        name().prop_map(Op::Remove),
    ]
}

/// The reference: `insert` replaces the first pair of the name in place and drops the others.
fn apply(model: &mut Vec<(String, String)>, op: &Op) {
    match op {
        Op::Insert(n, v) => match model.iter().position(|(m, _)| m == n) {
            Some(first) => {
                let mut i = 0;
                model.retain(|(m, _)| {
                    let keep = i <= first || m != n;
                    i += 1;
                    keep
                });
                model[first].1 = v.clone();
            }
            None => model.push((n.clone(), v.clone())),
        },
        Op::Append(n, v) => model.push((n.clone(), v.clone())),
        Op::Remove(n) => model.retain(|(m, _)| m != n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_a_vector_of_pairs(ops in prop::collection::vec(op(), 0..24)) {
        let mut map = HeaderMap::new();
        let mut model: Vec<(String, String)> = Vec::new();
        for op in &ops {
            match op {
                Op::Insert(n, v) => map.insert(n, v).unwrap(),
                Op::Append(n, v) => map.append(n, v).unwrap(),
                Op::Remove(n) => {
                    let had = model.iter().any(|(m, _)| m == n);
                    prop_assert_eq!(map.remove(n), had);
                }
            }
            apply(&mut model, op);
            let pairs: Vec<(&str, &str)> = map.iter().collect();
            let expected: Vec<(&str, &str)> =
                model.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            prop_assert_eq!(&pairs, &expected);
            prop_assert_eq!(map.len(), model.len());
            prop_assert_eq!(map.is_empty(), model.is_empty());
            for (n, _) in &model {
                prop_assert_eq!(map.get(n), model.iter().find(|(m, _)| m == n).map(|(_, v)| v.as_str()));
                let all: Vec<&str> = map.get_all(n).collect();
                let want: Vec<&str> =
                    model.iter().filter(|(m, _)| m == n).map(|(_, v)| v.as_str()).collect();
                prop_assert_eq!(all, want);
            }
        }
        let mut wire = BytesMut::new();
        map.encode(&mut wire);
        prop_assert_eq!(wire.len(), map.encoded_len());
        let back = HeaderMap::decode(&wire).unwrap();
        // Decoding trims surrounding spaces and tabs of a value; compare with the model so.
        let trimmed: Vec<(&str, &str)> = model
            .iter()
            .map(|(n, v)| (n.as_str(), v.trim_matches(|c| c == ' ' || c == '\t')))
            .collect();
        let decoded: Vec<(&str, &str)> = back.iter().collect();
        prop_assert_eq!(decoded, trimmed);
    }

    #[test]
    fn a_clone_keeps_its_pairs_when_the_original_changes(ops in prop::collection::vec(op(), 1..12), more in op()) {
        let mut map = HeaderMap::new();
        for op in &ops {
            match op {
                Op::Insert(n, v) => map.insert(n, v).unwrap(),
                Op::Append(n, v) => map.append(n, v).unwrap(),
                Op::Remove(n) => { map.remove(n); }
            }
        }
        let copy = map.clone();
        let pairs: Vec<(String, String)> =
            copy.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        match &more {
            Op::Insert(n, v) => map.insert(n, v).unwrap(),
            Op::Append(n, v) => map.append(n, v).unwrap(),
            Op::Remove(n) => { map.remove(n); }
        }
        let after: Vec<(String, String)> =
            copy.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        prop_assert_eq!(after, pairs);
    }
}
