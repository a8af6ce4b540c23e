//! The order of a put's chunks in the stream (J26): the stream must hold them in object order,
//! but a chunk re-sent after a fail-over can be stored after chunks sent later. From the
//! stream sequences in the acks, [`safe_prefix`] finds how many chunks are in place; the put
//! deletes and re-sends the rest (it still holds their data).

/// How many of `seqs` (the stream sequences of consecutive chunks, in object order) are in
/// place: each above the ones before it (and above `prior_max`, the highest sequence of the
/// chunks before them, 0 for none) and below every one after it. `None` when even the first
/// is not in place (a chunk before `seqs` was stored after one of them).
pub(crate) fn safe_prefix(prior_max: u64, seqs: &[u64]) -> Option<usize> {
    let mut suffix_min = vec![u64::MAX; seqs.len() + 1];
    for t in (0..seqs.len()).rev() {
        suffix_min[t] = seqs[t].min(suffix_min[t + 1]);
    }
    if prior_max >= suffix_min[0] {
        return None;
    }
    let mut last = prior_max;
    let mut good = 0;
    for (t, &s) in seqs.iter().enumerate() {
        if s > last && s < suffix_min[t + 1] {
            good = t + 1;
            last = s;
        } else {
            break;
        }
    }
    Some(good)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j26_safe_prefixes() {
        assert_eq!(safe_prefix(0, &[1, 2, 3]), Some(3));
        assert_eq!(safe_prefix(0, &[]), Some(0));
        // Chunk 2 was re-sent and stored after 3 and 4.
        assert_eq!(safe_prefix(0, &[1, 5, 3, 4]), Some(1));
        assert_eq!(safe_prefix(10, &[11, 12, 14, 13]), Some(2));
        // The first chunk was stored last.
        assert_eq!(safe_prefix(0, &[9, 2, 3]), Some(0));
        // A chunk before these (sequence 20) was stored after one of them.
        assert_eq!(safe_prefix(20, &[15, 21]), None);
        assert_eq!(safe_prefix(20, &[21, 22]), Some(2));
    }
}
