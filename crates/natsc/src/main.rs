//! natsc: the command-line tool (under construction in this session).
fn main() {}
