//! The reader task: reads into one growable buffer, lets the resumable parser cut operations out
//! of it (subject, reply and payload stay zero-copy slices of that buffer), and dispatches them.
//! It takes the subscription table lock once per batch of parsed operations, not per message.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::task::Waker;

use bytes::BytesMut;
use nats_proto::{MsgOp, Parser, ServerOp};
use tokio::io::AsyncReadExt;

use super::handshake::{ReadHalf, READ_BUFFER_SIZE};
use super::ConnCtx;
use crate::error::ConnectionError;
use crate::events::Event;
use crate::message::Message;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::subscriber::{Delivery, SubTable};

/// Free space below which the read buffer gets a fresh allocation before the next read.
const MIN_READ_SPACE: usize = 8 * 1024;

/// Runs until the connection ends; returns why.
pub(crate) async fn run(
    shared: Arc<Shared>,
    ctx: Arc<ConnCtx>,
    mut sock: ReadHalf,
    mut buf: BytesMut,
    mut parser: Parser,
) -> ConnectionError {
    let mut wake = Vec::new();
    loop {
        let processed = process(&shared, &ctx, &mut buf, &mut parser, &mut wake);
        for waker in wake.drain(..) {
            waker.wake();
        }
        if let Err(cause) = processed {
            return cause;
        }
        if buf.capacity() - buf.len() < MIN_READ_SPACE {
            buf.reserve(READ_BUFFER_SIZE);
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) => return ConnectionError::eof(),
            Ok(n) => Counters::add(&shared.counters.in_bytes, n as u64),
            Err(e) => return ConnectionError::io(e),
        }
    }
}

/// Parses and handles every complete operation in `buf`.
fn process(
    shared: &Shared,
    ctx: &ConnCtx,
    buf: &mut BytesMut,
    parser: &mut Parser,
    wake: &mut Vec<Waker>,
) -> Result<(), ConnectionError> {
    let mut table: Option<MutexGuard<'_, SubTable>> = None;
    let mut msgs = 0u64;
    let result = loop {
        match parser.parse(buf) {
            Ok(None) => break Ok(()),
            Ok(Some(ServerOp::Msg(op))) => {
                msgs += 1;
                let table = table.get_or_insert_with(|| shared.subs());
                dispatch(shared, table, op, wake);
            }
            Ok(Some(ServerOp::Ping)) => {
                shared.write.control(nats_proto::encode_pong);
            }
            Ok(Some(ServerOp::Pong)) => {
                ctx.pings_out.store(0, Ordering::Relaxed);
                shared.write.pong();
            }
            Ok(Some(ServerOp::Info(info))) => {
                drop(table.take());
                shared.apply_info(*info, false);
            }
            Ok(Some(ServerOp::Err(error))) => {
                drop(table.take());
                if let Err(cause) = shared.server_error(error) {
                    break Err(cause);
                }
            }
            Ok(Some(_)) => {}
            Err(e) => break Err(ConnectionError::Protocol(e)),
        }
    };
    drop(table);
    if msgs > 0 {
        Counters::add(&shared.counters.in_msgs, msgs);
    }
    result
}

fn dispatch(shared: &Shared, table: &mut SubTable, op: MsgOp, wake: &mut Vec<Waker>) {
    let sid = op.sid;
    let Some(sub) = table.map.get(&sid) else {
        // A message for a subscription already gone (unsubscribed, drained): ignore.
        return;
    };
    if sub.is_mux {
        shared.requests.complete(Message::from_op(op));
        return;
    }
    match sub.deliver(Message::from_op(op), wake) {
        Delivery::Queued | Delivery::Ignored => {}
        Delivery::Dropped { first, total } => {
            Counters::add(&shared.counters.dropped_msgs, 1);
            if first {
                shared.events.emit(Event::SlowConsumer {
                    sid,
                    dropped: total,
                });
            }
        }
        Delivery::LastMessage => {
            table.map.remove(&sid);
        }
    }
}
