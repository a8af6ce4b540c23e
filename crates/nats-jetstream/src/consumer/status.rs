//! Status messages on a pull inbox, as one pure function from the status to what the
//! consumer does (J12–J14, STYLE §9): heartbeats, finished pull requests, resets, terminal
//! errors. Status messages never reach the user.

use nats_client::{HeaderMap, StatusCode};

use crate::error::ConsumeError;

/// `Nats-Pending-Messages` / `Nats-Pending-Bytes`: what a finished pull request still had
/// outstanding.
const PENDING_MESSAGES: &str = "Nats-Pending-Messages";
const PENDING_BYTES: &str = "Nats-Pending-Bytes";

/// What a status message means for the consumer.
#[derive(Debug, Clone)]
pub(crate) enum StatusAction {
    /// 100 idle heartbeat (or flow control): the consumer is alive.
    Heartbeat,
    /// A pull request ended (404 no messages, 408 expired, 409 message size exceeds max
    /// bytes): subtract what it still had outstanding, `None` when the server did not say.
    RequestDone {
        messages: Option<u64>,
        bytes: Option<u64>,
    },
    /// 409 leadership change, exceeded max waiting, server shutdown: forget every pending
    /// request and pull again (J14).
    Reset,
    /// 503: nobody serves the consumer's pull subject (consumer gone, no leader, no JetStream).
    NoResponders,
    /// The consumer stream ends (J14): consumer deleted, push based, a rejected request.
    Terminal(ConsumeError),
}

/// Maps a status message (code, description, headers) to the consumer's action.
pub(crate) fn status_action(
    status: StatusCode,
    description: &str,
    headers: Option<&HeaderMap>,
) -> StatusAction {
    let pending = |name: &str| {
        headers
            .and_then(|h| h.get(name))
            .and_then(|v| v.trim().parse().ok())
    };
    let done = || StatusAction::RequestDone {
        messages: pending(PENDING_MESSAGES),
        bytes: pending(PENDING_BYTES),
    };
    let desc = description.trim().to_ascii_lowercase();
    match status {
        StatusCode::IDLE_HEARTBEAT => StatusAction::Heartbeat,
        StatusCode::NOT_FOUND | StatusCode::TIMEOUT => done(),
        StatusCode::NO_RESPONDERS => StatusAction::NoResponders,
        StatusCode::CONFLICT => {
            if desc.starts_with("message size exceeds maxbytes") {
                done()
            } else if desc.starts_with("leadership change")
                || desc.starts_with("exceeded maxwaiting")
                || desc.starts_with("server shutdown")
            {
                StatusAction::Reset
            } else if desc.starts_with("consumer deleted") {
                StatusAction::Terminal(ConsumeError::ConsumerDeleted)
            } else if desc.starts_with("consumer is push based") {
                StatusAction::Terminal(ConsumeError::ConsumerPushBased)
            } else {
                StatusAction::Terminal(rejected(status, description))
            }
        }
        _ => StatusAction::Terminal(rejected(status, description)),
    }
}

fn rejected(status: StatusCode, description: &str) -> ConsumeError {
    ConsumeError::PullRejected {
        status: status.as_u16(),
        description: description.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k, v).unwrap();
        }
        h
    }

    #[test]
    fn status_table() {
        let pending = headers(&[(PENDING_MESSAGES, "7"), (PENDING_BYTES, "1024")]);
        let rows: Vec<(u16, &str, Option<&HeaderMap>, StatusAction)> = vec![
            (100, "Idle Heartbeat", None, StatusAction::Heartbeat),
            (100, "FlowControl Request", None, StatusAction::Heartbeat),
            (
                404,
                "No Messages",
                None,
                StatusAction::RequestDone {
                    messages: None,
                    bytes: None,
                },
            ),
            (
                408,
                "Request Timeout",
                Some(&pending),
                StatusAction::RequestDone {
                    messages: Some(7),
                    bytes: Some(1024),
                },
            ),
            (
                409,
                "Message Size Exceeds MaxBytes",
                Some(&pending),
                StatusAction::RequestDone {
                    messages: Some(7),
                    bytes: Some(1024),
                },
            ),
            (409, "Leadership Change", None, StatusAction::Reset),
            (409, "Exceeded MaxWaiting", None, StatusAction::Reset),
            (409, "Server Shutdown", None, StatusAction::Reset),
            (
                409,
                "Consumer Deleted",
                None,
                StatusAction::Terminal(ConsumeError::ConsumerDeleted),
            ),
            (
                409,
                "Consumer is push based",
                None,
                StatusAction::Terminal(ConsumeError::ConsumerPushBased),
            ),
            (503, "", None, StatusAction::NoResponders),
        ];
        for (code, desc, h, want) in rows {
            let got = status_action(StatusCode(code), desc, h);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{code} {desc}");
        }
        for (code, desc) in [
            (409, "Exceeded MaxRequestBatch of 10"),
            (400, "Bad Request"),
        ] {
            match status_action(StatusCode(code), desc, None) {
                StatusAction::Terminal(ConsumeError::PullRejected {
                    status,
                    description,
                }) => {
                    assert_eq!((status, description.as_str()), (code, desc));
                }
                other => panic!("{code} {desc}: {other:?}"),
            }
        }
    }
}
