//! A test's summary line for the CI log.

use std::io::Write;

/// Writes `line` to stderr directly, past the test harness' capture: `println!` in a passing
/// test is swallowed, and a soak's summary line (what it published, lost, re-sent) is meant to
/// be read in the log of every run.
///
/// # Examples
///
/// ```
/// let lost = 0;
/// nats_testkit::report_line(format_args!("soak: lost {lost}"));
/// ```
pub fn report_line(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
