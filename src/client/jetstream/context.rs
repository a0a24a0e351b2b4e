//! A JetStream context: its options, and publishing with acknowledgement (waiting for it,
//! or handing it to a handler later).

use crate::client::connection::{Connection, OnLoss};
use crate::client::delivery::jobs::{JobQueue, JobSender};
use crate::client::delivery::Marker;
use crate::client::error::*;
use crate::client::jetstream::acks::{AckRouter, Deliver, Resend, WaitForRoom};
use crate::client::runtime;
use crate::client::subject::*;
use async_nats::jetstream;
use bytes::Bytes;
use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A context's settings.
#[derive(Clone, Debug)]
pub(crate) struct JsOptions {
    domain: Option<String>,
    api_prefix: Option<String>,
    pub(crate) timeout: Duration,
    max_pending_acks: usize,
}

impl Default for JsOptions {
    fn default() -> Self {
        JsOptions { domain: None, api_prefix: None, timeout: Duration::from_secs(5), max_pending_acks: 4000 }
    }
}

impl JsOptions {
    /// The JetStream domain (API prefix `$JS.<domain>.API`); `None` for none.
    pub(crate) fn set_domain(&mut self, domain: Option<&str>) -> Result<()> {
        if let Some(d) = domain {
            if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '.') {
                return Err(Error::new(ErrorKind::InvalidArgument, "domain must be a non-empty token"));
            }
        }
        self.domain = domain.map(str::to_string);
        Ok(())
    }

    /// The API subject prefix; `None` restores `$JS.API`.
    pub(crate) fn set_api_prefix(&mut self, prefix: Option<&str>) -> Result<()> {
        if let Some(p) = prefix {
            check_subject(p, Wildcards::Refused, "api_prefix")?;
        }
        self.api_prefix = prefix.map(str::to_string);
        Ok(())
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return Err(Error::new(ErrorKind::InvalidArgument, "timeout must be greater than 0 ms"));
        }
        self.timeout = timeout;
        Ok(())
    }

    /// Checked by the caller against the largest queue capacity.
    pub(crate) fn set_max_pending_acks(&mut self, max: usize) {
        self.max_pending_acks = max;
    }
}

/// A JetStream context on a connection.
pub(crate) struct JetStream {
    pub(crate) conn: Arc<Connection>,
    pub(crate) ctx: jetstream::Context,
    pub(crate) timeout: Duration,
    /// Async publishes whose handler has not returned yet, at most `max_pending_acks`.
    acks: Mutex<usize>,
    acks_done: Condvar,
    max_pending_acks: usize,
    ack_queue: OnceLock<JobQueue>,
    /// Routes the acknowledgements of async publishes (started on the first one).
    router: OnceLock<Arc<AckRouter>>,
}

/// A publish's acknowledgement: stream, domain, sequence, duplicate.
pub(crate) type PublishAck = jetstream::publish::PublishAck;

/// What is done with the outcome of an async publish, on the context's ack lane.
pub(crate) type AckHandler = Box<dyn FnOnce(Result<PublishAck>) + Send>;

thread_local! {
    /// While an ack handler runs: the context it serves.
    static ACKING_FOR: Cell<usize> = const { Cell::new(0) };
}

/// Expectations and settings for one publish; `Default` sets none.
#[derive(Clone, Debug, Default)]
pub(crate) struct PublishOptions<'a> {
    pub msg_id: Option<&'a str>,
    pub expected_stream: Option<&'a str>,
    pub expected_last_msg_id: Option<&'a str>,
    pub expected_last_sequence: Option<u64>,
    pub expected_last_subject_sequence: Option<u64>,
    /// How long to wait for the ack; `None`: the context's timeout.
    pub timeout: Option<Duration>,
    /// Attempts after the first when the failure is transient (see [`Retry`]).
    pub max_retries: u32,
    /// Wait before each retry; `None`: 250 ms.
    pub retry_wait: Option<Duration>,
}

/// Maps a JetStream failure to a status: the server's JetStream error code where there is one
/// (found in the error's source chain), else the error's own words.
pub(crate) fn js_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    let text = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(js) = err.downcast_ref::<jetstream::Error>() {
            return Error::new(code_kind(js.error_code()), format!("{what}: {text}"));
        }
        cur = err.source();
    }
    let lower = text.to_ascii_lowercase();
    // async-nats words "no responders" differently per call, dropping the source error.
    // A pull answered by status 503 reads "...: 503, None".
    let no_responders =
        ["no responders", "requested jetstream resource does not exist", "jetstream unavailable", ": 503,"];
    let status = if no_responders.iter().any(|t| lower.contains(t)) {
        // Nothing answered the JetStream API request or pull: see NATS_ERR_NO_RESPONDERS.
        ErrorKind::NoResponders
    } else if lower.contains("temporarily unavailable") {
        ErrorKind::JetStreamUnavailable
    } else if lower.contains("timed out") || lower.contains("timeout") {
        ErrorKind::Timeout
    } else if lower.contains("not found") || lower.contains("no message found") || lower.contains("does not exist") {
        ErrorKind::NotFound
    } else if lower.contains("wrong last") {
        ErrorKind::ExpectationFailed
    } else {
        ErrorKind::JetStream
    };
    Error::new(status, format!("{what}: {text}"))
}

/// The kind of a JetStream error code the server sent.
fn code_kind(code: jetstream::ErrorCode) -> ErrorKind {
    use jetstream::ErrorCode as C;
    match code {
        C::STREAM_NOT_FOUND
        | C::CONSUMER_NOT_FOUND
        | C::CONSUMER_DOES_NOT_EXIST
        | C::NO_MESSAGE_FOUND
        | C::SEQUENCE_NOT_FOUND => ErrorKind::NotFound,
        C::STREAM_WRONG_LAST_SEQUENCE | C::STREAM_WRONG_LAST_MESSAGE_ID | C::STREAM_NOT_MATCH => {
            ErrorKind::ExpectationFailed
        }
        C::CLUSTER_NOT_AVAILABLE | C::CLUSTER_NOT_LEADER | C::CLUSTER_NOT_ACTIVE | C::CLUSTER_INCOMPLETE => {
            ErrorKind::JetStreamUnavailable
        }
        _ => ErrorKind::JetStream,
    }
}

/// A JetStream error the server answered with.
pub(crate) fn code_error(what: &str, e: &jetstream::Error) -> Error {
    Error::new(code_kind(e.error_code()), format!("{what}: {e}"))
}

/// A publish nothing answered (the server's 503): no stream stores the subject, or
/// (transiently) the stream's leader is being elected; the two cannot be told apart.
pub(crate) fn no_stream_answered() -> Error {
    Error::new(
        ErrorKind::NoResponders,
        "publish: no stream answered: none stores this subject, or its leader is being elected",
    )
}

/// What a publish sends: subject, headers (with the expectations) and payload.
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    /// The expectations and the user's headers.
    pub(crate) headers: async_nats::HeaderMap,
    pub(crate) payload: Bytes,
    timeout: Option<Duration>,
    pub(crate) retry: Retry,
}

/// When and how a failed publish is sent again ([`PublishOptions::max_retries`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) wait: Duration,
    /// A msg_id makes a timed-out publish safe to send again: the stream stores it once.
    on_timeout: bool,
}

impl Retry {
    const DEFAULT_WAIT: Duration = Duration::from_millis(250);

    pub(crate) fn applies_to(&self, status: ErrorKind) -> bool {
        match status {
            ErrorKind::NoResponders | ErrorKind::JetStreamUnavailable => true,
            ErrorKind::Timeout => self.on_timeout,
            _ => false,
        }
    }
}

/// Checks a publish and builds what it sends. The expectation strings travel as header
/// values: CR or LF would break the protocol (async-nats panics on them), so they are refused
/// like any header value.
pub(crate) fn build(
    js: &JetStream,
    subject: &str,
    headers: Option<async_nats::HeaderMap>,
    payload: Bytes,
    o: &PublishOptions,
) -> Result<Outgoing> {
    check_subject(subject, Wildcards::Refused, "subject")?;
    js.conn.check_request_line("JetStream publish", subject)?;
    let header = |value: Option<&str>, name: &str| -> Result<()> {
        if let Some(v) = value {
            crate::client::message::header_value(v)
                .map_err(|e| Error::new(e.kind, format!("`opts.{name}`: {}", e.detail)))?;
        }
        Ok(())
    };
    header(o.msg_id, "msg_id")?;
    header(o.expected_stream, "expected_stream")?;
    header(o.expected_last_msg_id, "expected_last_msg_id")?;
    use async_nats::header::{
        NATS_EXPECTED_LAST_MESSAGE_ID, NATS_EXPECTED_LAST_SEQUENCE, NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
        NATS_EXPECTED_STREAM, NATS_MESSAGE_ID,
    };
    let mut h = headers.unwrap_or_default();
    if let Some(id) = o.msg_id {
        h.insert(NATS_MESSAGE_ID, id);
    }
    if let Some(s) = o.expected_stream {
        h.insert(NATS_EXPECTED_STREAM, s);
    }
    if let Some(id) = o.expected_last_msg_id {
        h.insert(NATS_EXPECTED_LAST_MESSAGE_ID, id);
    }
    if let Some(seq) = o.expected_last_sequence {
        h.insert(NATS_EXPECTED_LAST_SEQUENCE, seq.to_string().as_str());
    }
    if let Some(seq) = o.expected_last_subject_sequence {
        h.insert(NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, seq.to_string().as_str());
    }
    let retry = Retry {
        attempts: o.max_retries,
        wait: o.retry_wait.unwrap_or(Retry::DEFAULT_WAIT),
        on_timeout: o.msg_id.is_some(),
    };
    Ok(Outgoing { subject: subject.to_string(), headers: h, payload, timeout: o.timeout, retry })
}

impl JetStream {
    pub(crate) fn new(conn: Arc<Connection>, o: &JsOptions) -> Result<Self> {
        conn.check_open()?;
        // The context spawns its acknowledgement task on the current runtime.
        let _rt = conn.handle.enter();
        let builder = jetstream::ContextBuilder::new()
            .timeout(o.timeout)
            .ack_timeout(o.timeout)
            .max_ack_inflight(o.max_pending_acks)
            .backpressure_on_inflight(true);
        let ctx = match (&o.domain, &o.api_prefix) {
            (Some(d), _) => builder.domain(d).build(conn.client.clone()),
            (None, Some(p)) => builder.api_prefix(p).build(conn.client.clone()),
            (None, None) => builder.build(conn.client.clone()),
        };
        Ok(JetStream {
            conn,
            ctx,
            timeout: o.timeout,
            acks: Mutex::new(0),
            acks_done: Condvar::new(),
            max_pending_acks: o.max_pending_acks,
            ack_queue: OnceLock::new(),
            router: OnceLock::new(),
        })
    }

    /// Publishes and waits for the acknowledgement, as a request (`Connection::request_reply`:
    /// written on this thread after a pause), sending the message again (same headers, same
    /// msg_id) while the failure is one `out.retry` applies to and attempts remain.
    pub(crate) fn publish(&self, out: Outgoing) -> Result<PublishAck> {
        self.conn.check_open()?;
        let limit = out.timeout.unwrap_or(self.timeout);
        let headers = Some(&out.headers).filter(|h| !h.is_empty());
        let mut retries_left = out.retry.attempts;
        loop {
            let answer = self.conn.request_reply(
                "nats_jetstream_publish",
                OnLoss::Wait,
                &out.subject,
                headers,
                &out.payload,
                limit,
            );
            let result = match answer {
                Ok(m) => AckRouter::outcome(&m),
                Err(e) if e.kind == ErrorKind::Timeout => {
                    Err(Error::new(ErrorKind::Timeout, format!("no acknowledgement within {} ms", limit.as_millis())))
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if retries_left > 0 && out.retry.applies_to(e.kind) => {
                    retries_left -= 1;
                    std::thread::sleep(out.retry.wait);
                }
                Err(e) if out.retry.attempts > 0 => {
                    let tried = out.retry.attempts - retries_left + 1;
                    return Err(Error::new(e.kind, format!("{} (after {tried} attempt(s))", e.detail)));
                }
                other => return other,
            }
        }
    }

    /// The ack lane (on the connection's executor), set up on first use.
    fn ack_queue(&self) -> Result<JobSender> {
        if let Some(q) = self.ack_queue.get() {
            return Ok(q.sender());
        }
        let queue = JobQueue::start(&self.conn.executor, "nats-ffi-js-acks")?;
        Ok(self.ack_queue.get_or_init(|| queue).sender())
    }

    /// `done` handlers returned: their slots are free.
    fn acks_done(&self, done: usize) {
        let mut n = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        let before = *n;
        *n = n.saturating_sub(done);
        // Waiters: `complete` (for 0) and publishers waiting for a slot (below the maximum).
        if *n == 0 || before >= self.max_pending_acks {
            self.acks_done.notify_all();
        }
    }

    /// Sends now (in the caller's order, through the connection's frame buffer, with a reply
    /// subject of this context's inbox) and hands the acknowledgement to the ack lane
    /// later. Waits only while `max_pending_acks` acknowledgements are outstanding.
    pub(crate) fn publish_async(self: &Arc<Self>, out: Outgoing, handler: AckHandler) -> Result<()> {
        self.conn.check_open()?;
        let router = self.router()?;
        let limit = out.timeout.unwrap_or(self.timeout);
        self.take_ack_slot(limit)?;
        router.send(out, handler, limit).inspect_err(|_| self.acks_done(1))
    }

    /// Counts one more outstanding acknowledgement, waiting (at most `limit`) while
    /// `max_pending_acks` are.
    fn take_ack_slot(&self, limit: Duration) -> Result<()> {
        if self.try_take_ack_slot(Duration::ZERO) {
            return Ok(());
        }
        runtime::refuse_on_runtime("nats_jetstream_publish_async")?;
        if self.conn.executor.wait_for(limit, |slice| self.try_take_ack_slot(slice)) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "no acknowledgement slot within {} ms ({} acknowledgements outstanding)",
                limit.as_millis(),
                self.pending()
            ),
        ))
    }

    /// Takes an acknowledgement slot if one frees up within `limit`.
    fn try_take_ack_slot(&self, limit: Duration) -> bool {
        let n = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        let full = |n: &mut usize| *n >= self.max_pending_acks;
        let (mut n, _) = self.acks_done.wait_timeout_while(n, limit, full).unwrap_or_else(|p| p.into_inner());
        if *n >= self.max_pending_acks {
            return false;
        }
        *n += 1;
        true
    }

    /// The acknowledgement router, started on first use: its deliveries go to the ack
    /// lane; its (re)sends go through the connection's publish path.
    fn router(self: &Arc<Self>) -> Result<Arc<AckRouter>> {
        if let Some(r) = self.router.get() {
            return Ok(r.clone());
        }
        let queue = self.ack_queue()?;
        let weak = Arc::downgrade(self);
        let id = Arc::as_ptr(self).addr();
        let deliver: Deliver = Box::new(move |outcomes| {
            let weak = weak.clone();
            queue.send(Box::new(move || {
                // The slots are given back once the whole batch ran: one wake-up of a
                // waiting publisher per batch, not per acknowledgement.
                let marker = Marker::set(&ACKING_FOR, id);
                let done = outcomes.len();
                outcomes.into_iter().for_each(|(handler, result)| handler(result));
                drop(marker);
                if let Some(js) = weak.upgrade() {
                    js.acks_done(done);
                }
            }));
        });
        let conn = Arc::downgrade(&self.conn);
        let gone = || Error::new(ErrorKind::ConnectionClosed, "the connection is gone");
        let resend: Resend = Box::new({
            let conn = conn.clone();
            move |out, reply| {
                let conn = conn.upgrade().ok_or_else(gone)?;
                conn.publish_frame_now(&out.subject, Some(reply), Some(&out.headers), &out.payload)
            }
        });
        let wait_for_room: WaitForRoom = Box::new(move |out, reply| {
            let conn = conn.upgrade().ok_or_else(gone)?;
            conn.wait_for_publish_room(&out.subject, Some(reply), Some(&out.headers), &out.payload)
        });
        let router = AckRouter::start(&self.conn.client, &self.conn.handle, deliver, (resend, wait_for_room))?;
        Ok(self.router.get_or_init(|| router).clone())
    }

    pub(crate) fn pending(&self) -> usize {
        *self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn complete(&self, limit: Duration) -> Result<()> {
        if ACKING_FOR.with(|a| a.get()) == std::ptr::from_ref(self).addr() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "publish_async_complete cannot wait from this context's own ack callback",
            ));
        }
        if !self.conn.executor.wait_for(limit, |slice| self.wait_acks_done(slice)) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("{} acknowledgements still outstanding after {} ms", self.pending(), limit.as_millis()),
            ));
        }
        Ok(())
    }

    /// Waits at most `limit` until every outstanding acknowledgement was handled.
    fn wait_acks_done(&self, limit: Duration) -> bool {
        let n = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        let (n, _) = self.acks_done.wait_timeout_while(n, limit, |n| *n > 0).unwrap_or_else(|p| p.into_inner());
        *n == 0
    }
}
