//! [`PublishFrame`]: one publish on its way into a [`Batch`], and how it is encoded — PUB or
//! HPUB, the payload copied or (from [`SHARED_PAYLOAD`] bytes) kept by reference, and with
//! `message_ids` the `Nats-Msg-Id` header added.

use bytes::Bytes;

use super::batch::{Batch, FrameKind, SHARED_PAYLOAD};
use crate::message_id::{IdStamp, ID_HEADER_MAX, MESSAGE_ID_HEADER};

/// `headers` with the next message id added (unless they carry one already).
fn stamp(ids: &mut IdStamp, headers: Option<&nats_proto::HeaderMap>) -> nats_proto::HeaderMap {
    let mut stamped = headers.cloned().unwrap_or_default();
    let id = ids.next_id();
    if stamped.get(MESSAGE_ID_HEADER).is_none() {
        // an id is base62 and the header name is fixed: always valid
        let _ = stamped.insert(MESSAGE_ID_HEADER, id);
    }
    stamped
}

/// A frame to publish: where it goes and how it is encoded.
#[derive(Clone, Copy)]
pub(crate) struct PublishFrame<'a> {
    pub(crate) subject: &'a str,
    pub(crate) reply: Option<&'a str>,
    pub(crate) headers: Option<&'a nats_proto::HeaderMap>,
    pub(crate) payload: &'a Bytes,
}

#[cfg(test)]
impl<'a> PublishFrame<'a> {
    /// A frame with neither reply nor headers (tests).
    pub(crate) fn plain(subject: &'a str, payload: &'a Bytes) -> PublishFrame<'a> {
        PublishFrame {
            subject,
            reply: None,
            headers: None,
            payload,
        }
    }
}

impl PublishFrame<'_> {
    /// Appends the frame to `batch`; with `ids` (the `message_ids` option) it carries the
    /// next message id, unless its headers hold one already.
    #[inline]
    pub(crate) fn encode_into(&self, ids: Option<&mut IdStamp>, batch: &mut Batch) {
        match (ids, self.headers) {
            (None, _) => self.encode(batch),
            (Some(ids), None) => {
                // the common case: the id's header block written directly, no HeaderMap
                let mut block = [0u8; ID_HEADER_MAX];
                let len = ids.next_block(&mut block);
                self.encode_with_block(&block[..len], batch);
            }
            (Some(ids), Some(headers)) => PublishFrame {
                headers: Some(&stamp(ids, Some(headers))),
                ..*self
            }
            .encode(batch),
        }
    }

    /// Encodes the frame (which has no headers) as an HPUB with the header `block`.
    fn encode_with_block(&self, block: &[u8], batch: &mut Batch) {
        if self.payload.len() >= SHARED_PAYLOAD {
            batch.push_shared(
                |buf| {
                    nats_proto::encode_hpub_block_header(
                        buf,
                        self.subject,
                        self.reply,
                        block,
                        self.payload.len(),
                    )
                },
                self.payload.clone(),
            );
        } else {
            batch.push(FrameKind::Publish, |buf| {
                nats_proto::encode_hpub_block(buf, self.subject, self.reply, block, self.payload)
            });
        }
    }

    #[inline]
    fn encode(&self, batch: &mut Batch) {
        if self.payload.len() >= SHARED_PAYLOAD {
            batch.push_shared(
                |buf| match self.headers {
                    None => nats_proto::encode_pub_header(
                        buf,
                        self.subject,
                        self.reply,
                        self.payload.len(),
                    ),
                    Some(h) => nats_proto::encode_hpub_header(
                        buf,
                        self.subject,
                        self.reply,
                        h,
                        self.payload.len(),
                    ),
                },
                self.payload.clone(),
            );
        } else {
            batch.push(FrameKind::Publish, |buf| match self.headers {
                None => nats_proto::encode_pub(buf, self.subject, self.reply, self.payload),
                Some(h) => nats_proto::encode_hpub(buf, self.subject, self.reply, h, self.payload),
            });
        }
    }
}
