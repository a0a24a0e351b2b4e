//! A connection: connect (with reconnect backoff, pinger, discovered servers, URL
//! credentials), publish, flush, requests, close and drain.

use crate::client::delivery::jobs::JobQueue;
use crate::client::delivery::{Deliveries, Executor};
use crate::client::error::*;
use crate::client::events::{self, error_event, Event, EventSender, Raw};
use crate::client::message::Message;
use crate::client::options::{redact_url, Options, BUILTIN_MAX_PINGS_OUT};
use crate::client::publish::{Blocking, DirectWrite, OutMsg, Outbox};
use crate::client::reconnect::{apply_url_credentials, pinger, watch_discovered, Backoff};
use crate::client::runtime;
use crate::client::subject::*;
use crate::client::subscription::CoreSubscriptions;
use async_nats::ConnectErrorKind;
use bytes::Bytes;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connection to a NATS server (cluster), shared by everything made on it. Thread safe:
/// every method may be called from any number of threads at once, including from handlers.
pub(crate) struct Connection {
    pub(crate) client: async_nats::Client,
    pub(crate) handle: runtime::RtHandle,
    pub(crate) request_timeout: Duration,
    /// The length of the reply subjects async-nats makes for requests
    /// (`<inbox prefix>.<nuid>.<token>`), fixed per connection: see [`request_reply_len`].
    pub(crate) request_reply_len: usize,
    connection_timeout: Duration,
    /// Becomes true once the connection is closed (by the user, by drain, or by giving up after
    /// max_reconnects). Subscription pumps and the reconnect-delay hook watch it.
    pub(crate) closed: Arc<ClosedSignal>,
    closing: AtomicBool,
    pub(crate) outbox: Arc<Outbox>,
    /// The process that connected: a forked child must not write to its parent's socket.
    owner: u32,
    pub(crate) stats: Stats,
    events: Option<EventSender>,
    pub(crate) deliveries: Deliveries,
    /// Which threads run this connection's callbacks.
    pub(crate) executor: Executor,
    /// The lane of async request replies, set up on first use.
    replies: OnceLock<JobQueue>,
    /// The name given in the options, followed by a NUL (for C).
    name: Option<Box<[u8]>>,
    /// With `fail_requests_on_disconnect`: counts connection losses, so that waiting requests
    /// fail at the next one.
    lost_while_waiting: Option<Arc<watch::Sender<u64>>>,
    /// False: a lost connection closes (and `reconnect` is refused).
    allow_reconnect: bool,
    /// Live core subscriptions, ended when the connection closes.
    pub(crate) core_subs: Arc<CoreSubscriptions>,
    /// The user's NKey seed (from the options' seed or credentials), for `sign`.
    signing_seed: Option<String>,
}

/// Becomes true once the connection is closed (by the user, by drain, or by giving up after
/// max_reconnects): tasks watch it; every call reads it, through a plain atomic (a watch's
/// borrow takes a lock, twice the atomic operations on each publish).
pub(crate) struct ClosedSignal {
    tx: watch::Sender<bool>,
    flag: AtomicBool,
}

impl Default for ClosedSignal {
    fn default() -> Self {
        ClosedSignal { tx: watch::channel(false).0, flag: AtomicBool::new(false) }
    }
}

impl ClosedSignal {
    pub(crate) fn set(&self) {
        self.flag.store(true, Ordering::Release);
        self.tx.send_replace(true);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Message counters of a connection, counted by the library itself (payload bytes only).
/// Published messages are counted by the outbox (`Outbox::accepted`); `out_*` here counts
/// requests, which go through async-nats' request path.
#[derive(Default)]
pub(crate) struct Stats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
}

impl Stats {
    pub fn received(&self, bytes: usize) {
        self.in_msgs.fetch_add(1, Ordering::Relaxed);
        self.in_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
    fn sent(&self, bytes: usize) {
        self.out_msgs.fetch_add(1, Ordering::Relaxed);
        self.out_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not connected yet (retry_on_initial_connect still trying).
    Connecting,
    Connected,
    /// Lost; trying to reconnect, publishes are buffered.
    Reconnecting,
    /// Being closed: subscriptions drained, pending data flushed.
    Draining,
    /// Closed for good.
    Closed,
}

/// A connection's counters (see `Stats`), and how often it was re-established.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Statistics {
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub reconnects: u64,
}

/// What is done with the outcome of an asynchronous request, on the connection's reply
/// lane.
pub(crate) type ReplyHandler = Box<dyn FnOnce(Result<Message>) + Send>;

/// True when a rustls error is anywhere in `e`'s source chain (async-nats reports most TLS
/// failures as IO errors wrapping one).
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<async_nats::rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|inner| inner.downcast_ref::<async_nats::rustls::Error>().is_some()) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn connect_error(e: async_nats::ConnectError, servers: &[String]) -> Error {
    let status = match e.kind() {
        _ if is_tls_failure(&e) => ErrorKind::Tls,
        ConnectErrorKind::ServerParse => ErrorKind::InvalidArgument,
        ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => ErrorKind::Auth,
        ConnectErrorKind::TimedOut => ErrorKind::Timeout,
        ConnectErrorKind::Tls => ErrorKind::Tls,
        ConnectErrorKind::Dns | ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => ErrorKind::ConnectionFailed,
    };
    let list: Vec<String> = servers.iter().map(|s| redact_url(s)).collect();
    Error::new(status, format!("{e} (servers: {})", list.join(", ")))
}

/// A round trip through the server: hands over what the reconnect buffer holds, then sends a
/// PING and waits for its PONG (third_party patch 1), which the server sends only after it
/// processed everything sent before. Fails if the connection is lost before the PONG.
pub(crate) async fn probe(client: &async_nats::Client, outbox: &Outbox) -> std::result::Result<(), String> {
    outbox.drained().await;
    client.ping().await.map_err(|e| e.to_string())
}

/// [`probe`] until one succeeds: a PING lost with its connection is sent again after the
/// reconnect. Gives up only when the connection is closed; callers bound it with a timeout.
pub(crate) async fn probe_until_answered(
    client: &async_nats::Client,
    outbox: &Outbox,
    closed: &ClosedSignal,
) -> std::result::Result<(), String> {
    loop {
        match probe(client, outbox).await {
            Ok(()) => return Ok(()),
            Err(e) if closed.is_set() => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The connections made and not yet dropped, with the process that made them, for
/// `nats_ffi_shutdown`.
static OPEN: Mutex<Vec<(u32, Weak<Connection>)>> = Mutex::new(Vec::new());

fn register(conn: &Arc<Connection>) {
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    open.retain(|(_, c)| c.strong_count() > 0);
    open.push((std::process::id(), Arc::downgrade(conn)));
}

/// Closes every connection still open (for `nats_ffi_shutdown`), each with a drain bounded
/// by what is left of `limit`; their subscriptions deliver what is queued and end. A forked
/// child's copies of its parent's connections are only marked closed: their runtime is gone.
pub(crate) fn close_all(limit: Duration) {
    let open = std::mem::take(&mut *OPEN.lock().unwrap_or_else(|p| p.into_inner()));
    let deadline = runtime::deadline_after(limit);
    for (pid, conn) in open {
        let Some(conn) = conn.upgrade() else { continue };
        if pid == std::process::id() {
            let _ = conn.shutdown(deadline.saturating_duration_since(Instant::now()));
        } else {
            conn.closing.store(true, Ordering::Release);
            conn.mark_closed();
        }
        conn.core_subs.end_all();
    }
}

impl Connection {
    pub(crate) fn connect(opts: &Options) -> Result<Arc<Connection>> {
        runtime::refuse_on_runtime("nats_connect")?;
        let handle = runtime::handle()?;
        let closed = Arc::new(ClosedSignal::default());
        let addrs = opts
            .servers
            .iter()
            .map(|s| async_nats::ServerAddr::from_str(s))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("bad server URL: {e}")))?;
        let tls = opts.tls_required || addrs.iter().any(|a| a.tls_required());
        let executor = opts.executor.resolve()?;
        let mut base = opts.to_connect_options()?;
        if opts.user_password.is_none() && opts.token.is_none() {
            base = apply_url_credentials(base, &addrs);
        }
        let (events_tx, events_rx) = match &opts.events {
            Some(_) => {
                let (tx, rx) = events::channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let stats = Arc::new(OnceLock::new());
        let backoff = Backoff {
            wait: opts.reconnect_wait,
            jitter: if tls { opts.reconnect_jitter_tls } else { opts.reconnect_jitter },
            custom: opts.reconnect_delay.clone(),
            servers: addrs.len(),
            stats: stats.clone(),
            allow_reconnect: opts.allow_reconnect,
            events: events_tx.clone(),
        };
        let allow_reconnect = opts.allow_reconnect;
        let losses = opts.fail_requests_on_disconnect.then(|| Arc::new(watch::channel(0u64).0));
        let on_loss = losses.clone();
        let outbox = Arc::new(Outbox::new(opts.reconnect_buffer_size));
        let on_event = closed.clone();
        let on_delay = closed.clone();
        let on_connected = outbox.clone();
        let ev_tx = events_tx.clone();
        let co = base.reconnect_delay_callback(move |attempts| backoff.delay(&on_delay, attempts)).event_callback(
            move |event| {
                if let async_nats::Event::Closed
                | async_nats::Event::ClientError(async_nats::ClientError::MaxReconnects) = event
                {
                    on_event.set();
                }
                if let (async_nats::Event::Disconnected, Some(losses)) = (&event, &on_loss) {
                    losses.send_modify(|n| *n += 1);
                }
                if let async_nats::Event::Connected = event {
                    // Frames held back while the connection was down can go now.
                    on_connected.nudge();
                }
                // Without reconnection the loss is reported by the backoff, which closes the
                // connection, so that disconnected comes before closed.
                let reported_by_backoff = !allow_reconnect && matches!(event, async_nats::Event::Disconnected);
                if let (Some(tx), Some(e), false) = (&ev_tx, events::from_async_nats(&event), reported_by_backoff) {
                    let _ = tx.send(e);
                }
                async {}
            },
        );
        let client = runtime::block_on(&handle, "nats_connect", co.connect(addrs))?
            .map_err(|e| connect_error(e, &opts.servers))?;
        let _ = stats.set(client.statistics());

        let lost_tx = events_tx.clone();
        let on_lost = move |n: u64| {
            if let Some(tx) = &lost_tx {
                let _ = tx.send(error_event(
                    None,
                    ErrorKind::ConnectionClosed,
                    format!("{n} buffered publish(es) dropped: the connection closed before they could be sent"),
                ));
            }
        };
        {
            let (outbox, client, rx) = (outbox.clone(), client.clone(), closed.subscribe());
            // The closed event is sent from here, after any loss of buffered publishes was
            // reported: the closed callback is the connection's last.
            let closed_tx = events_tx.clone();
            let on_exit = move || {
                if let Some(tx) = closed_tx {
                    let _ = tx.send(Raw::Other(Event::Closed));
                }
            };
            handle.spawn(async move { outbox.forward(client, rx, on_lost, on_exit).await });
        }
        if opts.max_pings_out != BUILTIN_MAX_PINGS_OUT {
            handle.spawn(pinger(
                client.clone(),
                outbox.clone(),
                opts.ping_interval,
                opts.max_pings_out,
                closed.subscribe(),
            ));
        }
        if let (Some(tx), Some(sink)) = (&events_tx, &opts.events) {
            if sink.wants_discovered_servers() {
                handle.spawn(watch_discovered(client.clone(), tx.clone(), closed.subscribe()));
            }
        }
        let conn = Arc::new(Connection {
            request_reply_len: request_reply_len(&client),
            client,
            handle,
            request_timeout: opts.request_timeout,
            connection_timeout: opts.connection_timeout,
            closed,
            closing: AtomicBool::new(false),
            outbox,
            owner: std::process::id(),
            stats: Stats::default(),
            events: events_tx,
            deliveries: Deliveries::default(),
            executor,
            replies: OnceLock::new(),
            name: opts.name.as_deref().map(nul_terminated),
            lost_while_waiting: losses,
            allow_reconnect,
            core_subs: Arc::default(),
            signing_seed: opts.signing_seed(),
        });
        {
            let (subs, mut rx) = (conn.core_subs.clone(), conn.closed.subscribe());
            conn.handle.spawn(async move {
                wait_closed(&mut rx).await;
                subs.end_all();
            });
        }
        if let (Some(rx), Some(sink)) = (events_rx, &opts.events) {
            events::spawn(sink.clone(), rx, conn.clone())?;
        }
        register(&conn);
        Ok(conn)
    }

    /// Hands `e` to the event thread (if the user set event callbacks).
    pub(crate) fn send_event(&self, e: Raw) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_set() || self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
        }
        Ok(())
    }

    pub(crate) fn state(&self) -> State {
        if self.closed.is_set() {
            return State::Closed;
        }
        if self.closing.load(Ordering::Acquire) {
            return State::Draining;
        }
        match self.client.connection_state() {
            async_nats::connection::State::Connected => State::Connected,
            async_nats::connection::State::Pending if !self.ever_connected() => State::Connecting,
            async_nats::connection::State::Pending | async_nats::connection::State::Disconnected => State::Reconnecting,
        }
    }

    /// True once a server was reached (the first connect may still be retrying).
    fn ever_connected(&self) -> bool {
        self.client.statistics().connects.load(Ordering::Relaxed) > 0
    }

    /// The largest payload the server accepts; 0 before the first connection.
    pub(crate) fn max_payload(&self) -> usize {
        if self.ever_connected() {
            self.client.max_payload()
        } else {
            0
        }
    }

    /// Bytes of publishes accepted but not yet handed to the socket layer.
    pub(crate) fn buffered(&self) -> usize {
        self.outbox.buffered()
    }

    pub(crate) fn new_inbox(&self) -> String {
        self.client.new_inbox()
    }

    /// An engine failure of a call on this connection: `NATS_ERR_CONNECTION_CLOSED` when the
    /// connection is (or is just becoming) closed, else `NATS_ERR_INTERNAL`.
    pub(crate) fn closed_error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        // "channel closed": async-nats' connection task has ended (closed, or gave up after
        // max_reconnects) a moment before its event reached us.
        if self.is_closed() || e.to_string().contains("channel closed") {
            Error::new(ErrorKind::ConnectionClosed, format!("{what}: the connection is closed"))
        } else {
            Error::new(ErrorKind::Internal, format!("{what}: {e}"))
        }
    }

    fn check_payload(&self, len: usize) -> Result<()> {
        let max = self.client.max_payload();
        if max > 0 && len > max {
            return Err(Error::new(
                ErrorKind::MaxPayload,
                format!("payload of {len} bytes exceeds the server's max_payload of {max}"),
            ));
        }
        Ok(())
    }

    pub(crate) fn publish(&self, subject: &str, reply: Option<&str>, data: &[u8]) -> Result<()> {
        check_subject(subject, Wildcards::Refused, "subject")?;
        if let Some(r) = reply {
            check_subject(r, Wildcards::Refused, "reply subject")?;
        }
        self.publish_out(OutMsg { subject, reply, headers: None, payload: data })
    }

    /// Publishes a message built by the user (subject, reply, headers, payload).
    pub(crate) fn publish_msg(&self, m: &Message) -> Result<()> {
        let i = &m.inner;
        self.publish_out(OutMsg {
            subject: i.subject.as_str(),
            reply: i.reply.as_deref(),
            headers: i.headers.as_ref(),
            payload: &i.payload,
        })
    }

    /// Publishes a frame built by the library itself (a JetStream publish with its reply
    /// subject and headers), checked like any publish.
    pub(crate) fn publish_frame(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
    ) -> Result<()> {
        self.publish_out(OutMsg { subject, reply, headers, payload })
    }

    /// As `publish_frame`, but never waits for room in the buffer: for a caller holding a lock
    /// that runtime tasks take. When there is none: `ErrorKind::WouldBlockRuntime`; then
    /// [`Connection::wait_for_publish_room`] (with the lock released) and try again.
    pub(crate) fn publish_frame_now(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
    ) -> Result<()> {
        self.publish_with(OutMsg { subject, reply, headers, payload }, Blocking::Refused, true)
    }

    /// Waits (at most request_timeout) until the message would fit in the buffer; see
    /// [`Connection::publish_frame_now`]. Refused on the runtime's threads.
    pub(crate) fn wait_for_publish_room(
        &self,
        subject: &str,
        reply: Option<&str>,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
    ) -> Result<()> {
        runtime::refuse_on_runtime("publish")?;
        let m = OutMsg { subject, reply, headers, payload };
        self.outbox.wait_for_room(&m, || self.is_connected(), self.request_timeout)
    }

    fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    fn publish_out(&self, m: OutMsg) -> Result<()> {
        self.publish_with(m, Blocking::UnlessOnRuntime, true)
    }

    /// Publishes `m`; `direct`: it may be written on this thread after a pause.
    fn publish_with(&self, m: OutMsg, blocking: Blocking, direct: bool) -> Result<()> {
        self.check_open()?;
        check_control_line("publish", &[m.subject, m.reply.unwrap_or("")], 0)?;
        // Counted by the outbox as it accepts the message, before the hand-over: a reply to
        // it may reach its requester (who then reads our statistics) before this thread runs
        // again.
        // A forked child that (against the rules) uses its parent's connection must not write
        // into the parent's socket, possibly in the middle of one of the parent's frames.
        let write_now = |frames: &[u8], msgs, bytes, how| {
            direct
                && std::process::id() == self.owner
                && match how {
                    DirectWrite::Now => self.client.write_direct(frames, msgs, bytes),
                    DirectWrite::Waiting(wait) => self.client.write_direct_waiting(frames, msgs, bytes, wait),
                }
        };
        self.outbox.publish(
            &m,
            self.client.max_payload(),
            || self.is_connected(),
            self.request_timeout,
            blocking,
            write_now,
        )
    }

    /// Writes out everything queued, then makes a round trip through the server (see
    /// [`probe`]): async-nats' own flush only empties the socket buffer, while callers need to
    /// know the server has processed earlier SUBs and PUBs.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        self.check_open()?;
        let round_trip = async {
            probe_until_answered(&self.client, &self.outbox, &self.closed)
                .await
                .map_err(|e| self.closed_error("flush", e))
        };
        runtime::block_on_timeout(&self.handle, "nats_connection_flush", timeout, round_trip)?
    }

    /// The time of a round trip to the server.
    pub(crate) fn rtt(&self) -> Result<Duration> {
        self.check_open()?;
        let round_trip = async {
            self.outbox.drained().await;
            let start = Instant::now();
            probe_until_answered(&self.client, &self.outbox, &self.closed)
                .await
                .map_err(|e| self.closed_error("rtt", e))?;
            Ok(start.elapsed())
        };
        runtime::block_on_timeout(&self.handle, "nats_connection_rtt", self.request_timeout, round_trip)?
    }

    /// With fail_requests_on_disconnect: a watch that changes when the connection is lost,
    /// taken before the request is sent so that a loss right after it counts.
    fn loss_watch(&self) -> Option<watch::Receiver<u64>> {
        self.lost_while_waiting.as_ref().map(|losses| losses.subscribe())
    }

    /// Waits for `answer`, unless `lost` changes first (the connection was lost).
    async fn unless_lost<T>(
        &self,
        lost: Option<watch::Receiver<u64>>,
        subject: &str,
        answer: impl std::future::Future<Output = T>,
    ) -> Result<T> {
        let Some(mut lost) = lost else { return Ok(answer.await) };
        tokio::select! {
            answer = answer => Ok(answer),
            _ = lost.changed() => Err(Error::new(
                ErrorKind::Disconnected,
                format!("the connection was lost before a reply on {subject:?} came"),
            )),
        }
    }

    /// Publishes a request: its reply registered with async-nats' request multiplexer
    /// (third_party patch 14), the request published like any message with that reply
    /// subject — queued in order with earlier publishes, or written on this thread after a
    /// pause (patch 13). When the publish buffer has no room without waiting (the reconnect
    /// buffer full while disconnected, or a full buffer and `Blocking::Refused`), the
    /// request is kept for [`Connection::await_reply`] to send, not limited by the
    /// reconnect buffer: requests never were. Returns what awaits the reply.
    fn publish_request(
        &self,
        subject: &str,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
        blocking: Blocking,
        on_loss: OnLoss,
    ) -> Result<PendingReply> {
        // Taken before the request is sent, so that a loss right after it counts.
        let lost = match on_loss {
            OnLoss::AsConfigured => self.loss_watch(),
            OnLoss::Wait => None,
        };
        // It fails only once async-nats' connection task has ended (closed, or gave up after
        // max_reconnects), possibly a moment before its closed event reaches `is_closed`.
        let reply = self
            .client
            .register_reply()
            .map_err(|_| Error::new(ErrorKind::ConnectionClosed, "request: the connection is closed"))?;
        let m = OutMsg { subject, reply: Some(&reply.subject), headers, payload };
        let unsent = match self.publish_with(m, blocking, reply.direct) {
            Ok(()) => None,
            Err(e) if matches!(e.kind, ErrorKind::WouldBlockRuntime | ErrorKind::BufferFull) => {
                self.stats.sent(payload.len());
                Some((crate::client::publish::frame(&m), payload.len() as u64))
            }
            Err(e) => return Err(e),
        };
        Ok(PendingReply { lost, receiver: reply.receiver, unsent })
    }

    /// A blocking request (see [`Connection::publish_request`]), its reply awaited here.
    /// The reply may be the server's no-responders status: the caller says what that means.
    /// Refused on the runtime's threads (`what` names the call).
    pub(crate) fn request_reply(
        &self,
        what: &str,
        on_loss: OnLoss,
        subject: &str,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<async_nats::Message> {
        runtime::refuse_on_runtime(what)?;
        let pending = self.publish_request(subject, headers, payload, Blocking::Allowed, on_loss)?;
        let answer = self.await_reply(pending, subject, timeout);
        // The outer bound only guards against a timer that does not fire.
        runtime::block_on_timeout(&self.handle, what, timeout + Duration::from_millis(50), answer)?
    }

    /// The reply to a request published with [`Connection::publish_request`], within
    /// `timeout`; a request it kept is handed to async-nats first, after everything queued
    /// before it.
    async fn await_reply(
        &self,
        pending: PendingReply,
        subject: &str,
        timeout: Duration,
    ) -> Result<async_nats::Message> {
        let PendingReply { lost, receiver, unsent } = pending;
        let answer = async {
            if let Some((frame, payload_bytes)) = unsent {
                self.outbox.drained().await;
                self.client
                    .publish_frames(Bytes::from(frame), 1, payload_bytes)
                    .await
                    .map_err(|e| self.closed_error("request", e))?;
            }
            Ok(receiver.await)
        };
        match self.unless_lost(lost, subject, tokio::time::timeout(timeout, answer)).await? {
            Ok(Ok(Ok(m))) => {
                self.stats.received(m.payload.len());
                Ok(m)
            }
            Ok(Ok(Err(closed))) => Err(self.closed_error("request", closed)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("no reply on {subject:?} within {} ms", timeout.as_millis()),
            )),
        }
    }

    /// A core request's reply, or the error a no-responders status means.
    fn core_reply(subject: &str, m: async_nats::Message) -> Result<Message> {
        if m.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            return Err(Error::new(ErrorKind::NoResponders, format!("no subscriber on {subject:?}")));
        }
        Ok(Message::new(m))
    }

    fn check_request(&self, subject: &str, len: usize) -> Result<()> {
        self.check_open()?;
        check_subject(subject, Wildcards::Refused, "subject")?;
        self.check_request_line("request", subject)?;
        self.check_payload(len)
    }

    /// Refuses a request (core or JetStream) to `subject` whose PUB line, with the reply
    /// subject made for it, would be over the server's control-line limit.
    pub(crate) fn check_request_line(&self, what: &str, subject: &str) -> Result<()> {
        check_control_line(what, &[subject], self.request_reply_len)
    }

    pub(crate) fn request(
        &self,
        subject: &str,
        headers: Option<async_nats::HeaderMap>,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message> {
        self.check_request(subject, payload.len())?;
        let m =
            self.request_reply("nats_request", OnLoss::AsConfigured, subject, headers.as_ref(), &payload, timeout)?;
        Self::core_reply(subject, m)
    }

    /// The reply lane, set up on first use.
    fn reply_queue(&self) -> Result<crate::client::delivery::jobs::JobSender> {
        if let Some(q) = self.replies.get() {
            return Ok(q.sender());
        }
        let queue = JobQueue::start(&self.executor, "nats-ffi-replies")?;
        Ok(self.replies.get_or_init(|| queue).sender())
    }

    pub(crate) fn request_async(
        self: &Arc<Self>,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
        handler: ReplyHandler,
    ) -> Result<()> {
        self.check_request(subject, payload.len())?;
        let queue = self.reply_queue()?;
        // Published here, in the caller's order with its other publishes (written on this
        // thread after a pause); never waits for room (see `publish_request`).
        let pending = self.publish_request(subject, None, &payload, Blocking::Refused, OnLoss::AsConfigured)?;
        let conn = self.clone();
        let subject = subject.to_string();
        self.handle.spawn(async move {
            let result = conn.await_reply(pending, &subject, timeout).await;
            let result = result.and_then(|m| Self::core_reply(&subject, m));
            queue.send(Box::new(move || handler(result)));
        });
        Ok(())
    }

    /// Closes: drains subscriptions, flushes what was published, closes the socket and stops
    /// reconnecting. Waits up to `limit` for the server to see it (when connected and called
    /// from a thread that may block). Idempotent: only the first call does anything.
    /// `Err(TIMEOUT)` when the drain did not finish in time (the connection is closed anyway).
    fn shutdown(&self, limit: Duration) -> Result<()> {
        if self.closing.swap(true, Ordering::AcqRel) || self.closed.is_set() {
            return Ok(());
        }
        let connected = self.client.connection_state() == async_nats::connection::State::Connected;
        let client = self.client.clone();
        let outbox = self.outbox.clone();
        let mut closed_rx = self.closed.subscribe();
        let drain = async move {
            // A round trip first: async-nats drops a draining subscription one poll after
            // writing its UNSUB, not after the server confirmed it, so messages the server had
            // already routed to us but we had not read yet would be lost. After the round
            // trip they have all been read.
            let _ = probe(&client, &outbox).await;
            if client.drain().await.is_ok() {
                wait_closed(&mut closed_rx).await;
            }
        };
        let res = if connected && !runtime::on_runtime_thread() {
            runtime::block_on_timeout(&self.handle, "nats_connection_drain", limit, drain)
        } else {
            self.handle.spawn(async move { tokio::time::timeout(limit, drain).await });
            Ok(())
        };
        self.mark_closed();
        res
    }

    /// Closed from here on: no call proceeds and the outbox refuses publishes (what it holds
    /// is dropped by its forwarder).
    fn mark_closed(&self) {
        self.closed.set();
        self.outbox.close();
    }

    /// The connection's name (`Options::name`), followed by a NUL.
    pub(crate) fn name_nul(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    pub(crate) fn close(&self) {
        let _ = self.shutdown(self.connection_timeout);
    }

    /// Drains: stops new messages, delivers those in flight to their callbacks, sends what
    /// was published, closes. Waits for all of it, at most `limit`.
    pub(crate) fn drain(&self, limit: Duration) -> Result<()> {
        self.check_open()?;
        let start = Instant::now();
        self.shutdown(limit)?;
        if crate::client::delivery::delivering_for(self) {
            // Called from one of this connection's callbacks: its own thread cannot finish
            // while we wait here, so do not wait.
            return Ok(());
        }
        let left = limit.saturating_sub(start.elapsed());
        if !self.executor.wait_for(left, |slice| self.deliveries.wait_idle(slice)) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("callbacks were still running {} ms after the drain began", limit.as_millis()),
            ));
        }
        Ok(())
    }

    pub(crate) fn statistics(&self) -> Statistics {
        let s = &self.stats;
        let (published_msgs, published_bytes) = self.outbox.accepted();
        Statistics {
            in_msgs: s.in_msgs.load(Ordering::Relaxed),
            in_bytes: s.in_bytes.load(Ordering::Relaxed),
            out_msgs: s.out_msgs.load(Ordering::Relaxed) + published_msgs,
            out_bytes: s.out_bytes.load(Ordering::Relaxed) + published_bytes,
            reconnects: self.client.statistics().connects.load(Ordering::Relaxed).saturating_sub(1),
        }
    }

    pub(crate) fn reconnect(&self) -> Result<()> {
        self.check_open()?;
        if !self.allow_reconnect {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "reconnection is off for this connection (nats_options_set_allow_reconnect)",
            ));
        }
        let client = self.client.clone();
        self.handle.spawn(async move {
            let _ = client.force_reconnect().await;
        });
        Ok(())
    }
}

/// A request published with [`Connection::publish_request`], its reply not read yet.
/// What a request does when the connection is lost while it waits for its reply.
#[derive(Clone, Copy)]
pub(crate) enum OnLoss {
    /// Fails at once if `fail_requests_on_disconnect` says so (core requests).
    AsConfigured,
    /// Waits through the reconnect until its timeout: JetStream calls, which that option
    /// does not apply to (as in nats.c).
    Wait,
}

struct PendingReply {
    /// With fail_requests_on_disconnect: changes when the connection is lost.
    lost: Option<watch::Receiver<u64>>,
    receiver: tokio::sync::oneshot::Receiver<async_nats::Message>,
    /// The request's frame and payload bytes, when the publish buffer had no room for it.
    unsent: Option<(Vec<u8>, u64)>,
}

/// The length of the reply subjects async-nats makes for `client`'s requests:
/// `<inbox prefix>.<nuid>.<token>`, a new inbox plus a dot and a nuid-long token. Computed
/// once per connection (making an inbox costs a nuid and an allocation).
fn request_reply_len(client: &async_nats::Client) -> usize {
    const NUID_LEN: usize = 22;
    client.new_inbox().len() + 1 + NUID_LEN
}

/// Resolves once the connection is closed (or its handle is gone).
pub(crate) async fn wait_closed(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// What the current server announced, and the server pool as URLs.
pub(crate) struct ServerSnapshot {
    pub info: async_nats::ServerInfo,
    /// The URL of the server we are on ("" before the first connection).
    pub connected_url: String,
    pub servers: Vec<String>,
    pub discovered: Vec<String>,
}

impl Connection {
    /// A snapshot of the server's INFO and of the pool (waits at most request_timeout).
    pub(crate) fn server_info(&self) -> Result<ServerSnapshot> {
        self.check_open()?;
        let info = self.client.server_info();
        let pool = runtime::block_on_timeout(
            &self.handle,
            "nats_connection_server_info",
            self.request_timeout,
            self.client.server_pool(),
        )?
        .map_err(|e| Error::new(ErrorKind::ConnectionClosed, format!("server pool: {e}")))?;
        let url = |s: &async_nats::Server| -> String {
            let a = &s.addr;
            let scheme = if a.tls_required() { "tls" } else { "nats" };
            format!("{scheme}://{}:{}", a.host(), a.port())
        };
        // The server we are on: the pool entry we connected to whose port is the one the
        // server reports (async-nats does not expose the current address directly).
        let connected_url = pool
            .iter()
            .filter(|s| s.did_connect && s.failed_attempts == 0)
            .find(|s| s.addr.port() == info.port)
            .map(url)
            .unwrap_or_else(
                || if info.port == 0 { String::new() } else { format!("nats://{}:{}", info.host, info.port) },
            );
        let servers = pool.iter().map(url).collect();
        let discovered = pool.iter().filter(|s| s.is_discovered).map(url).collect();
        Ok(ServerSnapshot { info, connected_url, servers, discovered })
    }
}

impl Connection {
    /// Signs `data` with the user's NKey, the one the connection authenticates with.
    pub(crate) fn sign(&self, data: &[u8]) -> Result<[u8; 64]> {
        let seed = self.signing_seed.as_deref().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "the connection has no NKey seed or credentials to sign with")
        })?;
        crate::client::options::sign(seed, data)
    }
}

impl Connection {
    /// The local IP and port of the connection to the server.
    pub(crate) fn local_address(&self) -> Result<std::net::SocketAddr> {
        self.check_open()?;
        if self.state() != State::Connected {
            return Err(Error::new(ErrorKind::Disconnected, "not connected to a server right now"));
        }
        self.client.local_address().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "no TCP connection of the library's own (a websocket connection)")
        })
    }
}
