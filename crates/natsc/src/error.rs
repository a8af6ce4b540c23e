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
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
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
