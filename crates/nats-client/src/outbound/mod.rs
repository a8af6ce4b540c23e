//! Everything on its way to the server: the [`WriteQueue`] the handles append to, and the
//! [`Batch`]es of whole frames it hands the driver (DESIGN §3, §4).
//!
//! - [`queue`]: the shared intake (publishes, SUB/UNSUB, PINGs, records and commands), its
//!   phase, back-pressure, the reconnect buffer limit and the direct-write shortcut.
//! - [`frame`]: a publish frame and its encoding (PUB / HPUB, the message-id header).
//! - [`record`]: subscribe / unsubscribe records, life-cycle commands, PONG waiters.
//! - [`batch`]: frames in wire order with their boundaries; large payloads by reference.
//! - [`unconfirmed`]: with `at_least_once`, the written batches no PONG has confirmed yet.

pub(crate) mod batch;
pub(crate) mod frame;
pub(crate) mod queue;
pub(crate) mod record;
pub(crate) mod unconfirmed;

pub(crate) use batch::Batch;
pub(crate) use frame::PublishFrame;
pub(crate) use queue::{ConfirmStatus, Phase, Take, WriteQueue, COALESCE_WAIT};
pub(crate) use record::{Command, PongWaiter, Record};
