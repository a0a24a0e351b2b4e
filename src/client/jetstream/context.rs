//! A JetStream context: its options, and publishing with acknowledgement (waiting for it,
//! or handing it to a handler later).

use crate::client::connection::Connection;
use crate::client::error::*;
use crate::client::runtime;
use crate::client::subject::*;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use bytes::Bytes;
use std::cell::Cell;
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    acks: Mutex<usize>,
    acks_done: Condvar,
    ack_queue: OnceLock<mpsc::Sender<AckJob>>,
}

/// A publish's acknowledgement: stream, domain, sequence, duplicate.
pub(crate) type PublishAck = jetstream::publish::PublishAck;

/// What is done with the outcome of an async publish, on the context's ack thread.
pub(crate) type AckHandler = Box<dyn FnOnce(Result<PublishAck>) + Send>;

struct AckJob {
    handler: AckHandler,
    result: Result<PublishAck>,
}

thread_local! {
    /// On an ack thread: the context it serves.
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
    use jetstream::ErrorCode as C;
    let text = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(js) = err.downcast_ref::<jetstream::Error>() {
            let status = match js.error_code() {
                C::STREAM_NOT_FOUND | C::CONSUMER_NOT_FOUND | C::CONSUMER_DOES_NOT_EXIST | C::NO_MESSAGE_FOUND => {
                    ErrorKind::NotFound
                }
                C::STREAM_WRONG_LAST_SEQUENCE | C::STREAM_WRONG_LAST_MESSAGE_ID | C::STREAM_NOT_MATCH => {
                    ErrorKind::ExpectationFailed
                }
                C::CLUSTER_NOT_AVAILABLE | C::CLUSTER_NOT_LEADER | C::CLUSTER_NOT_ACTIVE | C::CLUSTER_INCOMPLETE => {
                    ErrorKind::JetStreamUnavailable
                }
                _ => ErrorKind::JetStream,
            };
            return Error::new(status, format!("{what}: {text}"));
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

fn publish_error(e: &jetstream::context::PublishError) -> Error {
    match e.kind() {
        // The server's "no responders": no stream stores the subject, or (transiently) the
        // stream's leader is being elected. The two cannot be told apart here.
        PublishErrorKind::StreamNotFound => Error::new(
            ErrorKind::NoResponders,
            "publish: no stream answered: none stores this subject, or its leader is being elected",
        ),
        PublishErrorKind::WrongLastMessageId | PublishErrorKind::WrongLastSequence => {
            Error::new(ErrorKind::ExpectationFailed, format!("publish: {e}"))
        }
        PublishErrorKind::TimedOut => {
            Error::new(ErrorKind::Timeout, format!("publish: no acknowledgement in time ({e})"))
        }
        PublishErrorKind::MaxPayloadExceeded => Error::new(ErrorKind::MaxPayload, format!("publish: {e}")),
        _ => js_error("publish", e),
    }
}

/// Waits for the acknowledgement of a publish already sent, sending the message again (same
/// headers, same msg_id) while the failure is one `out.retry` applies to and attempts remain.
async fn settle(
    ctx: &jetstream::Context,
    out: &Outgoing,
    first: jetstream::context::PublishAckFuture,
    limit: Duration,
) -> Result<jetstream::publish::PublishAck> {
    let mut ack = first;
    let mut retries_left = out.retry.attempts;
    loop {
        let result = match tokio::time::timeout(limit, ack).await {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(publish_error(&e)),
            Err(_) => {
                Err(Error::new(ErrorKind::Timeout, format!("no acknowledgement within {} ms", limit.as_millis())))
            }
        };
        match result {
            Err(e) if retries_left > 0 && out.retry.applies_to(e.kind) => {
                retries_left -= 1;
                tokio::time::sleep(out.retry.wait).await;
                ack = ctx.send_publish(out.subject.clone(), out.msg.clone()).await.map_err(|e| publish_error(&e))?;
            }
            Err(e) if out.retry.attempts > 0 => {
                let tried = out.retry.attempts - retries_left + 1;
                return Err(Error::new(e.kind, format!("{} (after {tried} attempt(s))", e.detail)));
            }
            other => return other,
        }
    }
}

/// What a publish sends: subject, headers (with the expectations) and payload.
pub(crate) struct Outgoing {
    subject: String,
    msg: PublishMessage,
    timeout: Option<Duration>,
    retry: Retry,
}

/// When and how a failed publish is sent again ([`PublishOptions::max_retries`]).
#[derive(Clone, Copy, Default)]
struct Retry {
    attempts: u32,
    wait: Duration,
    /// A msg_id makes a timed-out publish safe to send again: the stream stores it once.
    on_timeout: bool,
}

impl Retry {
    const DEFAULT_WAIT: Duration = Duration::from_millis(250);

    fn applies_to(&self, status: ErrorKind) -> bool {
        match status {
            ErrorKind::NoResponders | ErrorKind::JetStreamUnavailable => true,
            ErrorKind::Timeout => self.on_timeout,
            _ => false,
        }
    }

    /// The longest all attempts may take, each waiting up to `ack_limit` for its ack.
    fn total(&self, ack_limit: Duration) -> Duration {
        (ack_limit + self.wait).saturating_mul(self.attempts.saturating_add(1))
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
    let mut msg = PublishMessage::build().payload(payload);
    if let Some(h) = headers {
        msg = msg.headers(h);
    }
    if let Some(id) = o.msg_id {
        msg = msg.message_id(id);
    }
    if let Some(s) = o.expected_stream {
        msg = msg.expected_stream(s);
    }
    if let Some(id) = o.expected_last_msg_id {
        msg = msg.expected_last_message_id(id);
    }
    if let Some(seq) = o.expected_last_sequence {
        msg = msg.expected_last_sequence(seq);
    }
    if let Some(seq) = o.expected_last_subject_sequence {
        msg = msg.expected_last_subject_sequence(seq);
    }
    let retry = Retry {
        attempts: o.max_retries,
        wait: o.retry_wait.unwrap_or(Retry::DEFAULT_WAIT),
        on_timeout: o.msg_id.is_some(),
    };
    Ok(Outgoing { subject: subject.to_string(), msg, timeout: o.timeout, retry })
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
            ack_queue: OnceLock::new(),
        })
    }

    pub(crate) fn publish(&self, out: Outgoing) -> Result<PublishAck> {
        self.conn.check_open()?;
        let limit = out.timeout.unwrap_or(self.timeout);
        let total = out.retry.total(limit) + Duration::from_millis(50);
        let ctx = self.ctx.clone();
        let fut = async move {
            let ack = ctx.send_publish(out.subject.clone(), out.msg.clone()).await.map_err(|e| publish_error(&e))?;
            settle(&ctx, &out, ack, limit).await
        };
        runtime::block_on_timeout(&self.conn.handle, "nats_jetstream_publish", total, fut)?
    }

    fn ack_queue(self: &Arc<Self>) -> Result<mpsc::Sender<AckJob>> {
        if let Some(tx) = self.ack_queue.get() {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel::<AckJob>();
        let weak = Arc::downgrade(self);
        let id = Arc::as_ptr(self).addr();
        std::thread::Builder::new()
            .name("nats-ffi-js-acks".into())
            .spawn(move || {
                ACKING_FOR.with(|a| a.set(id));
                for job in rx {
                    (job.handler)(job.result);
                    if let Some(js) = weak.upgrade() {
                        js.ack_done();
                    }
                }
            })
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the ack thread: {e}")))?;
        Ok(self.ack_queue.get_or_init(|| tx).clone())
    }

    fn ack_done(&self) {
        let mut n = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.acks_done.notify_all();
        }
    }

    /// Sends now (in the caller's order) and hands the acknowledgement to the ack thread
    /// later. Waits only while `max_pending_acks` acknowledgements are outstanding.
    pub(crate) fn publish_async(self: &Arc<Self>, out: Outgoing, handler: AckHandler) -> Result<()> {
        self.conn.check_open()?;
        let queue = self.ack_queue()?;
        let limit = out.timeout.unwrap_or(self.timeout);
        *self.acks.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let sent = runtime::block_on_timeout(
            &self.conn.handle,
            "nats_jetstream_publish_async",
            limit,
            self.ctx.send_publish(out.subject.clone(), out.msg.clone()),
        );
        let ack = match sent {
            Ok(Ok(ack)) => ack,
            Ok(Err(e)) => {
                self.ack_done();
                return Err(publish_error(&e));
            }
            Err(e) => {
                self.ack_done();
                return Err(Error::new(
                    e.kind,
                    format!("{} ({} acknowledgements outstanding)", e.detail, self.pending()),
                ));
            }
        };
        let ctx = self.ctx.clone();
        self.conn.handle.spawn(async move {
            let result = settle(&ctx, &out, ack, limit).await;
            let _ = queue.send(AckJob { handler, result });
        });
        Ok(())
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
        let deadline = crate::client::runtime::deadline_after(limit);
        let mut n = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{} acknowledgements still outstanding after {} ms", *n, limit.as_millis()),
                ));
            }
            n = self.acks_done.wait_timeout(n, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
        Ok(())
    }
}
