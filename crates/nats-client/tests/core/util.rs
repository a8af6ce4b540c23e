//! Shared helpers: deadlines instead of sleeps (`tests/common/wait.rs`).

#[path = "../common/wait.rs"]
mod wait;

pub(crate) use wait::{next_msg, wait_event, within};
