//! The one error type of the tool: a message for a single line on stderr.

use std::fmt;

/// What went wrong, already worded for the user. Anything that implements
/// `std::error::Error` converts into it with `?`.
pub(crate) struct CliError(String);

impl CliError {
    /// An error with this message.
    pub(crate) fn msg(message: impl Into<String>) -> CliError {
        CliError(message.into())
    }

    /// The same error with `context` in front: "context: error".
    pub(crate) fn context(self, context: impl fmt::Display) -> CliError {
        CliError(format!("{context}: {}", self.0))
    }
}

impl<E: std::error::Error> From<E> for CliError {
    /// The error and its whole chain of causes in one line, "outer: cause: root", each cause
    /// added only when the text so far does not already say it.
    fn from(e: E) -> Self {
        CliError(chain(&e))
    }
}

/// `e` and its sources as one text, without repeating a cause its parent already printed.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: error chains from the network may carry newlines.
        f.write_str(&self.0.replace(['\r', '\n'], " "))
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The result of every command.
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

/// A JetStream API error in one line: the server's description and `err_code`, or that
/// JetStream is not enabled on `urls`.
pub(crate) fn js_error(e: nats_jetstream::Error, urls: &str) -> CliError {
    use nats_jetstream::Error;
    match e {
        Error::Api(a) => CliError(format!("{} (err_code {})", a.description, a.err_code)),
        Error::JetStreamNotEnabled => CliError(format!(
            "JetStream is not enabled on {urls} (nothing answers $JS.API; start nats-server with -js)"
        )),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose text may or may not repeat its cause.
    #[derive(Debug)]
    struct Wrap(&'static str, std::io::Error);

    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0.replace("{0}", &self.1.to_string()))
        }
    }

    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn the_whole_chain_in_one_line_without_repeats() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            CliError::from(Wrap("outer", io())).to_string(),
            "outer: refused"
        );
        assert_eq!(
            CliError::from(Wrap("repeats: {0}", io())).to_string(),
            "repeats: refused"
        );
    }
}
