//! `nats_jetstream_*`: the JetStream context and publishing with acknowledgement (sync and
//! async), and `nats_jetstream_options_*`, `nats_pub_ack_*`.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::runtime;
use crate::client::subject::*;
use crate::connection::nats_connection;
use crate::events::{hook, Hook};
use crate::message::nats_msg;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use bytes::Bytes;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// JetStream context options: create with `nats_jetstream_options_new`, free with
/// `nats_jetstream_options_free`. Not thread safe; `nats_jetstream_new` copies them.
///
/// Functions: `nats_jetstream_options_new`, `nats_jetstream_options_free`,
/// `nats_jetstream_options_set_domain`, `nats_jetstream_options_set_api_prefix`,
/// `nats_jetstream_options_set_timeout_ms`, `nats_jetstream_options_set_max_pending_acks`.
#[derive(Clone, Debug)]
pub struct nats_jetstream_options {
    domain: Option<String>,
    api_prefix: Option<String>,
    timeout: Duration,
    max_pending_acks: usize,
}

// C owns a `nats_jetstream_options` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_jetstream_options {
    type Rust = nats_jetstream_options;
}
impl BoxHandle for nats_jetstream_options {}

impl Default for nats_jetstream_options {
    fn default() -> Self {
        nats_jetstream_options {
            domain: None,
            api_prefix: None,
            timeout: Duration::from_secs(5),
            max_pending_acks: 4000,
        }
    }
}

/// A JetStream context on a connection, from `nats_jetstream_new`; freed with
/// `nats_jetstream_free`. Thread safe: use it from any number of threads at once.
///
/// Functions: `nats_jetstream_consumer_create`, `nats_jetstream_consumer_update`,
/// `nats_jetstream_consumer_delete`, `nats_jetstream_consumer_info`,
/// `nats_jetstream_consumer_names`, `nats_jetstream_pull_consumer`, `nats_jetstream_subscribe`,
/// `nats_jetstream_subscribe_sync`, `nats_jetstream_subscribe_ordered`, `nats_jetstream_new`,
/// `nats_jetstream_free`, `nats_jetstream_publish`, `nats_jetstream_publish_msg`,
/// `nats_jetstream_publish_async`, `nats_jetstream_publish_msg_async`,
/// `nats_jetstream_publish_async_complete`, `nats_jetstream_publish_async_pending`,
/// `nats_jetstream_kv_create`, `nats_jetstream_kv_bind`, `nats_jetstream_kv_delete`,
/// `nats_jetstream_stream_create`, `nats_jetstream_stream_update`, `nats_jetstream_stream_delete`,
/// `nats_jetstream_stream_info`, `nats_jetstream_stream_purge`, `nats_jetstream_stream_names`,
/// `nats_jetstream_stream_get_msg`, `nats_jetstream_stream_get_last_msg`.
pub struct nats_jetstream {
    pub(crate) conn: Arc<nats_connection>,
    pub(crate) ctx: jetstream::Context,
    pub(crate) timeout: Duration,
    acks: Mutex<usize>,
    acks_done: Condvar,
    ack_queue: OnceLock<mpsc::Sender<AckJob>>,
}

// C owns a `nats_jetstream` with shared: C holds one strong reference (see capi::handle).
impl Castable for nats_jetstream {
    type Rust = nats_jetstream;
}
impl ArcHandle for nats_jetstream {}

/// Expectations and settings for one publish (`nats_jetstream_publish*`). Zero-initialize it
/// (`nats_js_publish_options o = {0};`) and set what you need; NULL pointers and false flags
/// mean "not set".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_js_publish_options {
    /// Message id for de-duplication within the stream's duplicate window (`Nats-Msg-Id`).
    pub msg_id: *const c_char,
    /// The stream the subject must belong to (`Nats-Expected-Stream`).
    pub expected_stream: *const c_char,
    /// The id the stream's last message must have (`Nats-Expected-Last-Msg-Id`).
    pub expected_last_msg_id: *const c_char,
    /// With `has_expected_last_sequence`: the stream's last sequence must be this
    /// (`Nats-Expected-Last-Sequence`; 0 = the stream is empty).
    pub expected_last_sequence: u64,
    /// Whether `expected_last_sequence` is set.
    pub has_expected_last_sequence: bool,
    /// With `has_expected_last_subject_sequence`: the last sequence of a message on this
    /// subject must be this (`Nats-Expected-Last-Subject-Sequence`).
    pub expected_last_subject_sequence: u64,
    /// Whether `expected_last_subject_sequence` is set.
    pub has_expected_last_subject_sequence: bool,
    /// How long to wait for the acknowledgement; 0 = the context's timeout.
    pub timeout_ms: u64,
    /// Attempts after the first when the failure is transient: `NATS_ERR_NO_RESPONDERS` (no
    /// stream answered, e.g. during a leader election), `NATS_ERR_JETSTREAM_UNAVAILABLE`, and
    /// — only when `msg_id` is set, so the stream de-duplicates — `NATS_ERR_TIMEOUT`. Every
    /// attempt sends the same message with the same headers. 0 = no retry (default), as
    /// nats.c's jsPubOptions.MaxRetries. Each attempt waits up to the timeout for its ack.
    pub max_retries: u32,
    /// Wait before each retry, ms; 0 = 250 ms (nats.c's default RetryWait).
    pub retry_wait_ms: u64,
}

/// A publish acknowledgement: the stream that stored the message, its sequence there, and
/// whether it was a duplicate (same msg_id within the duplicate window: not stored again).
/// Freed with `nats_pub_ack_free` when returned by `nats_jetstream_publish*`; borrowed for the
/// call when passed to an async ack callback.
///
/// Functions: `nats_jetstream_publish`, `nats_jetstream_publish_msg`, `nats_pub_ack_stream`,
/// `nats_pub_ack_domain`, `nats_pub_ack_sequence`, `nats_pub_ack_duplicate`, `nats_pub_ack_free`.
pub struct nats_pub_ack {
    stream: CString,
    domain: CString,
    sequence: u64,
    duplicate: bool,
}

// C owns a `nats_pub_ack` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_pub_ack {
    type Rust = nats_pub_ack;
}
impl BoxHandle for nats_pub_ack {}

/// Async publish acknowledgement callback: `user_data`, `NATS_OK` and the ack (borrowed until
/// the callback returns), or an error status (`NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (no
/// stream answered: none stores the subject, or its leader is being elected),
/// `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_EXPECTATION_FAILED`, `NATS_ERR_JETSTREAM`) with
/// `ack` NULL; `nats_last_error()` explains inside the callback. Runs on the context's ack
/// thread, one call at a time, in completion order; it may call any function of the library
/// except `nats_jetstream_publish_async_complete` on the same context.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_pub_ack_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: nats_status, ack: *const nats_pub_ack)>;

type AckFn = unsafe extern "C" fn(*mut c_void, nats_status, *const nats_pub_ack);

struct AckJob {
    hook: Hook<AckFn>,
    result: Result<nats_pub_ack>,
}

thread_local! {
    /// On an ack thread: the context it serves.
    static ACKING_FOR: Cell<usize> = const { Cell::new(0) };
}

fn cs(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl nats_pub_ack {
    fn from(a: jetstream::publish::PublishAck) -> Self {
        nats_pub_ack { stream: cs(&a.stream), domain: cs(&a.domain), sequence: a.sequence, duplicate: a.duplicate }
    }
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
struct Outgoing {
    subject: String,
    msg: PublishMessage,
    timeout: Option<Duration>,
    retry: Retry,
}

/// When and how a failed publish is sent again (`nats_js_publish_options.max_retries`).
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

/// An optional string that is sent as a header value (no CR or LF).
unsafe fn opt_header_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    let value = opt_str_arg(p, name)?;
    if let Some(v) = value {
        crate::message::header_value(v).map_err(|e| Error::new(e.kind, format!("`{name}`: {}", e.detail)))?;
    }
    Ok(value)
}

unsafe fn build(
    js: &nats_jetstream,
    subject: &str,
    headers: Option<async_nats::HeaderMap>,
    payload: Bytes,
    o: Option<&nats_js_publish_options>,
) -> Result<Outgoing> {
    check_subject(subject, Wildcards::Refused, "subject")?;
    js.conn.check_request_line("JetStream publish", subject)?;
    let mut msg = PublishMessage::build().payload(payload);
    if let Some(h) = headers {
        msg = msg.headers(h);
    }
    let mut timeout = None;
    let mut retry = Retry::default();
    if let Some(o) = o {
        retry = Retry {
            attempts: o.max_retries,
            wait: ms_or_default(o.retry_wait_ms, Retry::DEFAULT_WAIT),
            on_timeout: !o.msg_id.is_null(),
        };
        // These travel as header values: CR or LF would break the protocol (async-nats
        // panics on them), so they are refused like any header value.
        if let Some(id) = opt_header_arg(o.msg_id, "opts.msg_id")? {
            msg = msg.message_id(id);
        }
        if let Some(s) = opt_header_arg(o.expected_stream, "opts.expected_stream")? {
            msg = msg.expected_stream(s);
        }
        if let Some(id) = opt_header_arg(o.expected_last_msg_id, "opts.expected_last_msg_id")? {
            msg = msg.expected_last_message_id(id);
        }
        if o.has_expected_last_sequence {
            msg = msg.expected_last_sequence(o.expected_last_sequence);
        }
        if o.has_expected_last_subject_sequence {
            msg = msg.expected_last_subject_sequence(o.expected_last_subject_sequence);
        }
        if o.timeout_ms > 0 {
            timeout = Some(Duration::from_millis(o.timeout_ms));
        }
    }
    Ok(Outgoing { subject: subject.to_string(), msg, timeout, retry })
}

impl nats_jetstream {
    fn new(conn: Arc<nats_connection>, o: &nats_jetstream_options) -> Result<Self> {
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
        Ok(nats_jetstream {
            conn,
            ctx,
            timeout: o.timeout,
            acks: Mutex::new(0),
            acks_done: Condvar::new(),
            ack_queue: OnceLock::new(),
        })
    }

    fn publish(&self, out: Outgoing) -> Result<nats_pub_ack> {
        self.conn.check_open()?;
        let limit = out.timeout.unwrap_or(self.timeout);
        let total = out.retry.total(limit) + Duration::from_millis(50);
        let ctx = self.ctx.clone();
        let fut = async move {
            let ack = ctx.send_publish(out.subject.clone(), out.msg.clone()).await.map_err(|e| publish_error(&e))?;
            settle(&ctx, &out, ack, limit).await
        };
        let ack = runtime::block_on_timeout(&self.conn.handle, "nats_jetstream_publish", total, fut)??;
        Ok(nats_pub_ack::from(ack))
    }

    fn ack_queue(self: &Arc<Self>) -> Result<mpsc::Sender<AckJob>> {
        if let Some(tx) = self.ack_queue.get() {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel::<AckJob>();
        let weak = Arc::downgrade(self);
        let id = Arc::as_ptr(self) as usize;
        std::thread::Builder::new()
            .name("nats-ffi-js-acks".into())
            .spawn(move || {
                ACKING_FOR.with(|a| a.set(id));
                for job in rx {
                    let (status, ack) = match &job.result {
                        Ok(a) => (NATS_OK, a as *const nats_pub_ack),
                        Err(e) => (record(e.clone()), std::ptr::null()),
                    };
                    // SAFETY: the user's callback with the user's pointer; `ack` lives until
                    // `job` is dropped after the call.
                    unsafe { (job.hook.f())(job.hook.user_data(), status, ack) };
                    drop(job);
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
    fn publish_async(self: &Arc<Self>, out: Outgoing, hook: Hook<AckFn>) -> Result<()> {
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
            let result = settle(&ctx, &out, ack, limit).await.map(nats_pub_ack::from);
            let _ = queue.send(AckJob { hook, result });
        });
        Ok(())
    }

    fn pending(&self) -> usize {
        *self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn complete(&self, limit: Duration) -> Result<()> {
        if ACKING_FOR.with(|a| a.get()) == self as *const _ as usize {
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

/// Creates JetStream context options with the defaults: no domain, API prefix `$JS.API`,
/// timeout 5000 ms, max_pending_acks 4000. → `nats_jetstream_options_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_new(out: *mut *mut nats_jetstream_options) -> nats_status {
    guard(|| {
        out_arg(out, "out")?;
        box_out(out, Default::default());
        Ok(())
    })
}

/// Frees options. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_free(opts: *mut nats_jetstream_options) {
    guard_void(|| {
        free_box(opts);
    })
}

unsafe fn with_js_opts(
    o: *mut nats_jetstream_options,
    f: impl FnOnce(&mut nats_jetstream_options) -> Result<()>,
) -> nats_status {
    guard(|| f(borrow_mut(o, "opts")?))
}

/// The JetStream domain to talk to (API prefix `$JS.<domain>.API`); NULL for none.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts), `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`
/// (empty or with spaces/dots).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_domain(
    opts: *mut nats_jetstream_options,
    domain: *const c_char,
) -> nats_status {
    with_js_opts(opts, |o| {
        let d = opt_str_arg(domain, "domain")?;
        if let Some(d) = d {
            if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '.') {
                return Err(Error::new(ErrorKind::InvalidArgument, "domain must be a non-empty token"));
            }
        }
        o.domain = d.map(str::to_string);
        Ok(())
    })
}

/// The JetStream API subject prefix (default `$JS.API`), e.g. for an account import. Ignored
/// when a domain is set. NULL restores the default.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts), `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_api_prefix(
    opts: *mut nats_jetstream_options,
    prefix: *const c_char,
) -> nats_status {
    with_js_opts(opts, |o| {
        let p = opt_str_arg(prefix, "prefix")?;
        if let Some(p) = p {
            check_subject(p, Wildcards::Refused, "api_prefix")?;
        }
        o.api_prefix = p.map(str::to_string);
        Ok(())
    })
}

/// Default timeout of JetStream API calls and of waiting for publish acknowledgements
/// (default 5000 ms). Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (0).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_timeout_ms(
    opts: *mut nats_jetstream_options,
    ms: u64,
) -> nats_status {
    with_js_opts(opts, |o| {
        if ms == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "timeout must be greater than 0 ms"));
        }
        o.timeout = Duration::from_millis(ms);
        Ok(())
    })
}

/// How many async publishes may await their acknowledgement at once (default 4000); beyond
/// that `nats_jetstream_publish_async` waits (at most the timeout).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (0, or more than
/// `NATS_MAX_QUEUE_CAPACITY`).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_max_pending_acks(
    opts: *mut nats_jetstream_options,
    max: usize,
) -> nats_status {
    with_js_opts(opts, |o| {
        check_capacity(max, "max_pending_acks")?;
        o.max_pending_acks = max;
        Ok(())
    })
}

/// Creates a JetStream context on `conn` with `opts` (NULL: defaults; copied). Does not talk
/// to the server. → `nats_jetstream_free` (before or after the connection's free: the
/// context keeps what it needs alive). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_new(
    conn: *mut nats_connection,
    opts: *const nats_jetstream_options,
    out: *mut *mut nats_jetstream,
) -> nats_status {
    guard(|| {
        borrow(conn, "conn")?;
        out_arg(out, "out")?;
        let defaults = nats_jetstream_options::default();
        let o = opts.as_ref().unwrap_or(&defaults);
        let js = nats_jetstream::new(clone_arc(conn, "conn")?, o)?;
        arc_out(out, Arc::new(js));
        Ok(())
    })
}

/// Releases the caller's handle. Callbacks of async publishes still in flight run anyway;
/// call `nats_jetstream_publish_async_complete` first to wait for them. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_free(js: *mut nats_jetstream) {
    guard_void(|| {
        drop(free_arc(js));
    })
}

unsafe fn publish_common(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
) -> Result<Outgoing> {
    let j = borrow(js, "js")?;
    let s = str_arg(subject, "subject")?;
    let d = bytes_arg(data, len, "data")?;
    build(j, s, None, Bytes::copy_from_slice(d), opts.as_ref())
}

/// Publishes to a stream and waits for its acknowledgement. `opts` may be NULL. On success
/// writes the ack to `*ack` (→ `nats_pub_ack_free`; pass NULL if not wanted).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a string of `opts` with CR or LF),
/// `NATS_ERR_NO_RESPONDERS` (no stream answered: none stores the subject, or — transiently —
/// its leader is being elected; see `max_retries`), `NATS_ERR_EXPECTATION_FAILED` (an
/// expectation of `opts` did not hold), `NATS_ERR_TIMEOUT`, `NATS_ERR_MAX_PAYLOAD`,
/// `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE` (other JetStream error), `NATS_ERR_CONNECTION_CLOSED`,
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
    ack: *mut *mut nats_pub_ack,
) -> nats_status {
    guard(|| {
        let out = publish_common(js, subject, data, len, opts)?;
        let a = (*js).publish(out)?;
        if !ack.is_null() {
            box_out(ack, a);
        }
        Ok(())
    })
}

/// As `nats_jetstream_publish`, sending `msg` (built with `nats_msg_new`: subject, headers,
/// payload). Errors: as `nats_jetstream_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_msg(
    js: *mut nats_jetstream,
    msg: *const nats_msg,
    opts: *const nats_js_publish_options,
    ack: *mut *mut nats_pub_ack,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let m = &borrow(msg, "msg")?.inner;
        let out = build(j, m.subject.as_str(), m.headers.clone(), m.payload.clone(), opts.as_ref())?;
        let a = j.publish(out)?;
        if !ack.is_null() {
            box_out(ack, a);
        }
        Ok(())
    })
}

/// Publishes without waiting for the acknowledgement: the message is sent in call order, and
/// `cb(user_data, status, ack)` runs once when the ack (or a failure) arrives, on the
/// context's ack thread (see `nats_pub_ack_callback`). Waits only while max_pending_acks
/// acknowledgements are outstanding (at most the timeout). `cb` may be NULL when the outcome does
/// not matter (failures then go unreported). Errors (then `cb` is not called): as `nats_jetstream_publish` without the
/// ack-related ones; `NATS_ERR_TIMEOUT` when no ack slot freed up in time.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
    cb: nats_pub_ack_callback,
    user_data: *mut c_void,
) -> nats_status {
    guard(|| {
        let out = publish_common(js, subject, data, len, opts)?;
        clone_arc(js, "js")?.publish_async(out, hook(cb.unwrap_or(ignore_ack), user_data))
    })
}

/// As `nats_jetstream_publish_async`, sending `msg` (built with `nats_msg_new`).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_msg_async(
    js: *mut nats_jetstream,
    msg: *const nats_msg,
    opts: *const nats_js_publish_options,
    cb: nats_pub_ack_callback,
    user_data: *mut c_void,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let m = &borrow(msg, "msg")?.inner;
        let out = build(j, m.subject.as_str(), m.headers.clone(), m.payload.clone(), opts.as_ref())?;
        clone_arc(js, "js")?.publish_async(out, hook(cb.unwrap_or(ignore_ack), user_data))
    })
}

unsafe extern "C" fn ignore_ack(_: *mut c_void, _: nats_status, _: *const nats_pub_ack) {}

/// Waits until every async publish of this context has been acknowledged (or failed) and its
/// callback has returned, at most `timeout_ms` (0 = the context's timeout).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_TIMEOUT` (some still outstanding; see
/// `nats_jetstream_publish_async_pending`), `NATS_ERR_INVALID_ARGUMENT` (called from this
/// context's ack callback).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async_complete(
    js: *mut nats_jetstream,
    timeout_ms: u64,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        j.complete(ms_or_default(timeout_ms, j.timeout))
    })
}

/// Number of async publishes whose callback has not yet returned; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async_pending(js: *const nats_jetstream) -> u64 {
    guard_value(0, || js.as_ref().map_or(0, |j| j.pending() as u64))
}

/// The stream that stored the message (borrowed from the ack); "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_stream(ack: *const nats_pub_ack) -> *const c_char {
    guard_value(c"".as_ptr(), || ack.as_ref().map_or(c"".as_ptr(), |a| a.stream.as_ptr()))
}

/// The JetStream domain of the stream; "" when none or for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_domain(ack: *const nats_pub_ack) -> *const c_char {
    guard_value(c"".as_ptr(), || ack.as_ref().map_or(c"".as_ptr(), |a| a.domain.as_ptr()))
}

/// The message's sequence number in the stream (for a duplicate: the original's); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_sequence(ack: *const nats_pub_ack) -> u64 {
    guard_value(0, || ack.as_ref().map_or(0, |a| a.sequence))
}

/// True when the stream had already stored a message with this msg_id (not stored again).
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_duplicate(ack: *const nats_pub_ack) -> bool {
    guard_value(false, || ack.as_ref().is_some_and(|a| a.duplicate))
}

/// Frees an ack returned by `nats_jetstream_publish*`. NULL is a no-op. Never free the ack
/// lent to an async callback.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_free(ack: *mut nats_pub_ack) {
    guard_void(|| {
        free_box(ack);
    })
}
