//! Shared helpers: deadlines instead of sleeps (`tests/common/wait.rs`).

#[path = "../common/wait.rs"]
mod wait;

#[path = "../common/scripted.rs"]
mod scripted;

pub(crate) use scripted::connect_scripted;
pub(crate) use wait::{eventually, next_msg, wait_event, within, DropSignal};
