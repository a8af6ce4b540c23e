//! Guarded user callbacks: every callback the client calls (event, reconnect delay, server
//! choice, auth, message handler) runs inside [`guarded`], so a panic is caught and reported (a `tracing` error
//! and an [`Event::CallbackPanicked`](crate::Event::CallbackPanicked)) and never kills a task.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which user callback an [`Event::CallbackPanicked`](crate::Event::CallbackPanicked) is about.
///
/// # Examples
///
/// ```
/// use nats_client::CallbackKind;
/// assert_eq!(CallbackKind::ReconnectDelay.to_string(), "reconnect delay");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallbackKind {
    /// [`ConnectOptions::event_callback`](crate::ConnectOptions::event_callback).
    Event,
    /// [`ConnectOptions::reconnect_delay_callback`](crate::ConnectOptions::reconnect_delay_callback).
    ReconnectDelay,
    /// [`ConnectOptions::reconnect_to_server_callback`](crate::ConnectOptions::reconnect_to_server_callback).
    ReconnectToServer,
    /// [`ConnectOptions::auth_callback`](crate::ConnectOptions::auth_callback).
    Auth,
    /// A message handler given to
    /// [`Client::subscribe_with_handler`](crate::Client::subscribe_with_handler).
    MessageHandler,
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallbackKind::Event => "event",
            CallbackKind::ReconnectDelay => "reconnect delay",
            CallbackKind::ReconnectToServer => "reconnect-to-server",
            CallbackKind::Auth => "auth",
            CallbackKind::MessageHandler => "message handler",
        })
    }
}

/// A caught panic of a user callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackPanic {
    pub(crate) kind: CallbackKind,
    pub(crate) message: String,
}

/// Runs a user callback, catching a panic. The panic is logged here; the caller turns it into
/// an event and a fallback.
pub(crate) fn guarded<R>(kind: CallbackKind, f: impl FnOnce() -> R) -> Result<R, CallbackPanic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        tracing::error!(callback = %kind, %message, "user callback panicked; the client goes on");
        CallbackPanic { kind, message }
    })
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_value() {
        assert_eq!(guarded(CallbackKind::Event, || 3), Ok(3));
        let caught = guarded(CallbackKind::Auth, || -> u32 { panic!("boom {}", 1) });
        assert_eq!(
            caught,
            Err(CallbackPanic {
                kind: CallbackKind::Auth,
                message: "boom 1".into()
            })
        );
    }
}
