//! The `(name, value)` pairs of a [`HeaderMap`](crate::HeaderMap), kept in their wire form: one
//! string of `name: value\r\n` lines.
//!
//! One allocation holds every pair, so decoding a received block costs one copy instead of two
//! strings per header, dropping it one free, and encoding it is a single copy. Lookups walk the
//! lines, as they walked a vector of pairs before: a message carries a handful of headers.
//!
//! Invariants (upheld by the callers: names are validated tokens without `:`, values have no CR
//! or LF): every line is `name`, `": "`, `value`, `"\r\n"`, so the first `:` of a line ends its
//! name and the line's `\r` starts its end.

/// The pairs in wire form; see the module docs.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Lines(String);

impl Lines {
    /// No pairs (usable in a `static`).
    pub(crate) const fn new() -> Lines {
        Lines(String::new())
    }

    /// Room for `bytes` of lines.
    pub(crate) fn with_capacity(bytes: usize) -> Lines {
        Lines(String::with_capacity(bytes))
    }

    /// Appends a pair; the caller has validated both.
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.0.reserve(name.len() + value.len() + 4);
        self.0.push_str(name);
        self.0.push_str(": ");
        self.0.push_str(value);
        self.0.push_str("\r\n");
    }

    /// The pairs in order.
    pub(crate) fn iter(&self) -> Pairs<'_> {
        Pairs { rest: &self.0 }
    }

    /// The number of pairs.
    pub(crate) fn len(&self) -> usize {
        self.0.bytes().filter(|b| *b == b'\n').count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The wire form of every pair (`name: value\r\n` each).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Gives `name` the single value `value`: its first pair keeps its place with the new
    /// value, later pairs of the name go; a new name is appended.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        if !self.iter().any(|(n, _)| n == name) {
            self.push(name, value);
            return;
        }
        let mut out = Lines::with_capacity(self.0.len() + value.len());
        let mut seen = false;
        for (n, v) in self.iter() {
            if n != name {
                out.push(n, v);
            } else if !seen {
                seen = true;
                out.push(n, value);
            }
        }
        *self = out;
    }

    /// Drops every pair of `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        let mut out = Lines::with_capacity(self.0.len());
        for (n, v) in self.iter().filter(|(n, _)| *n != name) {
            out.push(n, v);
        }
        *self = out;
    }
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Lines`]: `(name, value)`.
pub(crate) struct Pairs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let rest = self.rest;
        let end = rest.find('\n')?;
        self.rest = rest.get(end + 1..).unwrap_or_default();
        let line = rest.get(..end).unwrap_or_default();
        let line = line.strip_suffix('\r').unwrap_or(line);
        let colon = line.find(':')?;
        let name = line.get(..colon).unwrap_or_default();
        let value = line.get(colon + 2..).unwrap_or_default();
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_in_order() {
        let mut l = Lines::new();
        assert!(l.is_empty());
        l.push("a", "1");
        l.push("B-c", "x: y");
        l.push("a", "");
        l.push("d", " lead");
        assert_eq!(l.as_bytes(), b"a: 1\r\nB-c: x: y\r\na: \r\nd:  lead\r\n");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("a", "1"), ("B-c", "x: y"), ("a", ""), ("d", " lead")]
        );
        assert_eq!(l.len(), 4);
        assert_eq!(
            format!("{l:?}"),
            r#"[("a", "1"), ("B-c", "x: y"), ("a", ""), ("d", " lead")]"#
        );
    }

    #[test]
    fn set_and_remove_keep_positions() {
        let mut l = Lines::new();
        for (n, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
            l.push(n, v);
        }
        l.set("b", "two");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", "two"), ("a", "3"), ("c", "4")]
        );
        l.set("a", "one");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("a", "one"), ("b", "two"), ("c", "4")]
        );
        l.set("d", "5");
        l.remove("b");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("a", "one"), ("c", "4"), ("d", "5")]
        );
        for n in ["a", "c", "d"] {
            l.remove(n);
        }
        assert!(l.is_empty());
        assert_eq!(l.len(), 0);
    }
}
