//! Connection core v2: nothing a caller, a callback or a server does can wedge the client.
//! Each defect the first core had has a test here that failed before the redesign:
//! cancelled futures (every public async method), panicking callbacks (every kind), inputs at
//! their limits (`Duration::MAX`, a huge INFO, a long control line), an unread event stream
//! under a slow-consumer storm, and drains dropped half-way.

#![allow(clippy::unwrap_used)]

#[path = "../common/wait.rs"]
mod wait;

mod callbacks;
mod cancel;
mod drain;
mod events;
mod inputs;
mod util;
