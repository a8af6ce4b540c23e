use super::split_args;

fn naive(line: &[u8], start: usize) -> Vec<&[u8]> {
    line[start..]
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|a| !a.is_empty())
        .collect()
}

#[test]
fn swar_split_matches_a_naive_split_at_every_chunk_boundary() {
    let alphabet = [b'a', b' ', b'\t', b'b', b'.'];
    // every line of length 0..=20 over a small alphabet, built from a counter
    for len in 0..=20usize {
        for seed in 0..200u64 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ len as u64;
            let line: Vec<u8> = (0..len)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(x >> 60) as usize % alphabet.len()]
                })
                .collect();
            for start in 0..=len.min(3) {
                let mut out = [(0usize, 0usize); 32];
                let n = split_args(&line, start, &mut out).expect("fits in 32");
                let got: Vec<&[u8]> = out[..n].iter().map(|(a, b)| &line[*a..*b]).collect();
                assert_eq!(
                    got,
                    naive(&line, start),
                    "{:?} from {start}",
                    String::from_utf8_lossy(&line)
                );
            }
        }
    }
}

#[test]
fn too_many_arguments_is_none() {
    let mut out = [(0usize, 0usize); 2];
    assert_eq!(split_args(b"a b c", 0, &mut out), None);
    assert_eq!(split_args(b"a b", 0, &mut out), Some(2));
}
