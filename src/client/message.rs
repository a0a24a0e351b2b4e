//! A message: received (from a subscription, a request, a JetStream consumer or a stream) or
//! built to publish; its headers; JetStream metadata and acknowledgements.

use crate::client::connection::Connection;
use crate::client::error::*;
use crate::client::subject::*;
use async_nats::{HeaderName, HeaderValue};
use bytes::Bytes;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub(crate) struct Message {
    pub(crate) inner: async_nats::Message,
    /// JetStream messages: the connection acknowledgements are published on.
    acker: Option<Arc<Connection>>,
    /// A final acknowledgement (ack, nak, term) was sent.
    acked: AtomicBool,
    /// JetStream metadata parsed from the reply subject, on first access.
    meta: OnceLock<Option<JsMeta>>,
    /// A message read from a stream (get, direct get): where and when it was stored.
    stored: Option<StoredAt>,
}

/// Where and when a message read from a stream was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredAt {
    pub seq: u64,
    pub time_ns: i64,
}

/// Metadata of a JetStream message, parsed from its `$JS.ACK.` reply subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JsMeta {
    pub stream: String,
    pub consumer: String,
    /// "" when none.
    pub domain: String,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub delivered: u64,
    pub pending: u64,
    pub timestamp_ns: i64,
}

impl JsMeta {
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` or the form with
    /// `<domain>.<account hash>.` before the stream (ADR-15), possibly with more tokens.
    fn parse(reply: &str) -> Option<JsMeta> {
        let rest = reply.strip_prefix("$JS.ACK.")?;
        let t: Vec<&str> = rest.split('.').collect();
        let (domain, t) = match t.len() {
            7 => ("", &t[..]),
            n if n >= 9 => (if t[0] == "_" { "" } else { t[0] }, &t[2..]),
            _ => return None,
        };
        Some(JsMeta {
            stream: t[0].into(),
            consumer: t[1].into(),
            domain: domain.into(),
            delivered: t[2].parse().ok()?,
            stream_seq: t[3].parse().ok()?,
            consumer_seq: t[4].parse().ok()?,
            timestamp_ns: t[5].parse().ok()?,
            pending: t[6].parse().ok()?,
        })
    }
}

/// What an acknowledgement does to a JetStream message's processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckStep {
    /// Ends it (ack, nak, term): at most one per message.
    Final,
    /// Reports progress (`+WPI`): any number, before the final one.
    Progress,
}

impl Message {
    pub(crate) fn new(inner: async_nats::Message) -> Self {
        Message { inner, acker: None, acked: AtomicBool::new(false), meta: OnceLock::new(), stored: None }
    }

    /// A message read from a stream, stored at `at`.
    pub(crate) fn stored_at(mut self, at: StoredAt) -> Self {
        self.stored = Some(at);
        self
    }

    /// The stream sequence of a message read from a stream or delivered by a consumer.
    pub(crate) fn sequence(&self) -> Option<u64> {
        self.stored.map(|s| s.seq).or_else(|| self.js_meta().map(|m| m.stream_seq))
    }

    /// When a message read from a stream or delivered by a consumer was stored, ns since the
    /// Unix epoch.
    pub(crate) fn timestamp_ns(&self) -> Option<i64> {
        self.stored.map(|s| s.time_ns).or_else(|| self.js_meta().map(|m| m.timestamp_ns))
    }

    /// A JetStream message, acknowledged through `conn`.
    pub(crate) fn with_acker(mut self, conn: Arc<Connection>) -> Self {
        self.acker = Some(conn);
        self
    }

    /// A message to publish, built by the user.
    pub(crate) fn outgoing(subject: &str, reply: Option<&str>, data: &[u8]) -> Result<Self> {
        check_subject(subject, Wildcards::Refused, "subject")?;
        if let Some(r) = reply {
            check_subject(r, Wildcards::Refused, "reply subject")?;
        }
        Ok(Message::new(async_nats::Message {
            subject: subject.into(),
            reply: reply.map(Into::into),
            payload: Bytes::copy_from_slice(data),
            headers: None,
            status: None,
            description: None,
            length: subject.len() + data.len(),
        }))
    }

    /// A final acknowledgement (ack, nak, term) was sent, by this message or a clone of it.
    pub(crate) fn is_acknowledged(&self) -> bool {
        self.acked.load(Ordering::Acquire)
    }

    pub(crate) fn reply_str(&self) -> Option<&str> {
        self.inner.reply.as_ref().map(|r| r.as_str())
    }

    /// The status code of a server-generated message; 0 for an ordinary one.
    pub(crate) fn status(&self) -> u16 {
        self.inner.status.map_or(0, |s| s.as_u16())
    }

    pub(crate) fn js_meta(&self) -> Option<&JsMeta> {
        self.meta.get_or_init(|| self.reply_str().and_then(JsMeta::parse)).as_ref()
    }

    /// How long a confirmed acknowledgement waits by default: the connection's request
    /// timeout (a message without a connection fails before waiting, so any value will do).
    pub(crate) fn ack_timeout(&self) -> Duration {
        self.acker.as_ref().map_or(Duration::from_millis(1), |c| c.request_timeout)
    }

    /// Sets header `key` to `value`, replacing its values.
    pub(crate) fn set_header(&mut self, key: HeaderName, value: HeaderValue) {
        self.modify_headers(|h| h.insert(key, value));
    }

    /// Adds `value` to header `key`, keeping its values.
    pub(crate) fn add_header(&mut self, key: HeaderName, value: HeaderValue) {
        self.modify_headers(|h| h.append(key, value));
    }

    /// Removes header `key` with all its values; `NotFound` when there is none.
    pub(crate) fn delete_header(&mut self, key: &str) -> Result<()> {
        let k = header_name(key)?;
        let has = self.inner.headers.as_ref().is_some_and(|h| h.get(k.clone()).is_some());
        if !has {
            return Err(Error::new(ErrorKind::NotFound, format!("no header {key:?}")));
        }
        self.modify_headers(|h| {
            let mut kept = async_nats::HeaderMap::new();
            for (name, vs) in h.iter() {
                if *name != k {
                    for v in vs {
                        kept.append(name.clone(), v.clone());
                    }
                }
            }
            *h = kept;
        });
        Ok(())
    }

    fn modify_headers(&mut self, f: impl FnOnce(&mut async_nats::HeaderMap)) {
        let mut h = self.inner.headers.take().unwrap_or_default();
        f(&mut h);
        self.inner.headers = if h.is_empty() { None } else { Some(h) };
    }

    /// Sends an acknowledgement (`+ACK`, `-NAK`, `+WPI`, `+TERM`, ...) to the message's
    /// reply subject; a final one (ack, nak, term) may be sent once per message, progress
    /// (`+WPI`) any number of times before it. With `wait`, asks the server to confirm it (a
    /// request), at most that long.
    pub(crate) fn acknowledge(&self, body: &[u8], step: AckStep, wait: Option<Duration>) -> Result<()> {
        let fin = step == AckStep::Final;
        let conn = self.acker.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "not a JetStream message (it was not received from a JetStream consumer)",
            )
        })?;
        let reply = self.reply_str().filter(|r| r.starts_with("$JS.ACK.")).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "the message has no JetStream ack subject (its consumer does not need acknowledgements)",
            )
        })?;
        let already =
            || Error::new(ErrorKind::InvalidArgument, "the message was already acknowledged (ack, nak or term)");
        if fin && self.acked.swap(true, Ordering::AcqRel) {
            return Err(already());
        }
        if self.acked.load(Ordering::Acquire) && !fin {
            return Err(already());
        }
        let sent = match wait {
            None => conn.publish(reply, None, body),
            Some(limit) => conn.request(reply, None, Bytes::copy_from_slice(body), limit).map(drop),
        };
        if sent.is_err() && fin {
            self.acked.store(false, Ordering::Release);
        }
        sent
    }
}

impl Clone for Message {
    fn clone(&self) -> Self {
        Message {
            inner: self.inner.clone(),
            acker: self.acker.clone(),
            acked: AtomicBool::new(self.acked.load(Ordering::Acquire)),
            meta: self.meta.clone(),
            stored: self.stored,
        }
    }
}

/// A header name, checked: printable ASCII without ':' or spaces.
pub(crate) fn header_name(key: &str) -> Result<HeaderName> {
    if key.is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "header name is empty"));
    }
    async_nats::HeaderName::from_str(key).map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("header name {key:?} must be printable ASCII without ':' or spaces"),
        )
    })
}

/// A header value, checked: no CR or LF.
pub(crate) fn header_value(value: &str) -> Result<HeaderValue> {
    async_nats::HeaderValue::from_str(value)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "header value must not contain CR or LF"))
}
