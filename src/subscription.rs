//! `nats_subscribe*`, `nats_subscription_*`: subscriptions with callback or synchronous
//! delivery.
//!
//! Each subscription has a pump task on the runtime, which moves messages from async-nats into
//! the subscription's pending queue (enforcing its pending limits), and either a dedicated
//! delivery thread, which takes them from the queue in order and calls the C callback, or
//! (synchronous subscriptions) the caller's thread in `nats_subscription_next_msg`. Callbacks
//! therefore never run on runtime threads and may call any blocking API function.

use crate::capi::args::*;
use crate::capi::callback::CCallback;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::runtime;
use crate::client::subject::*;
use crate::connection::{nats_connection, wait_closed};
use crate::events::Event;
use crate::message::nats_msg;
use futures_util::{FutureExt, StreamExt};
use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Message callback: `user_data` as given at subscribe time, the subscription (the same
/// pointer `nats_subscribe` wrote), and the message, borrowed until the callback returns
/// (`nats_msg_clone` keeps it). Runs on the subscription's own delivery thread, one message at
/// a time, in the order received. It may call any function of this library, including
/// publish, request, flush, unsubscribe and free of its own subscription.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_msg_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, sub: *mut nats_subscription, msg: *const nats_msg)>;

/// Called exactly once with `user_data` after the last callback of a subscription has
/// returned (after unsubscribe/free, or once the connection closed and queued messages were
/// delivered). Frees whatever `user_data` holds.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

type MsgFn = unsafe extern "C" fn(*mut c_void, *mut nats_subscription, *const nats_msg);

/// Default pending limit of a subscription in messages, as nats.c: 65536.
pub const NATS_DEFAULT_PENDING_MSGS: i64 = 65536;
/// Default pending limit of a subscription in bytes, as nats.c: 64 MiB.
pub const NATS_DEFAULT_PENDING_BYTES: i64 = 64 * 1024 * 1024;

thread_local! {
    /// On a delivery thread: the connection and subscription it delivers for.
    static DELIVERING: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// True on a delivery thread of one of `conn`'s subscriptions.
pub(crate) fn delivering_for(conn: &nats_connection) -> bool {
    DELIVERING.with(|d| d.get().0 == conn as *const _ as usize)
}

fn delivering_sub(sub: &nats_subscription) -> bool {
    DELIVERING.with(|d| d.get().1 == sub as *const _ as usize)
}

/// What closing a subscription's queue does with the messages still in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// Unsubscribed: they are dropped.
    Drop,
    /// Drained or ended: they are still delivered.
    Deliver,
}

/// Messages waiting for the delivery thread (or for `next_msg`).
#[derive(Default)]
struct Pending {
    state: Mutex<PendingState>,
    ready: Condvar,
    done: Condvar,
}

#[derive(Default)]
struct PendingState {
    msgs: VecDeque<async_nats::Message>,
    /// No more messages will be added.
    closed: bool,
    waiting: bool,
    /// The delivery thread has exited (callback subscriptions).
    finished: bool,
    /// Messages taken by `next_msg` whose counters are not updated yet.
    taking: usize,
}

enum Taken {
    Msg(async_nats::Message),
    Closed,
    TimedOut,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, batch: &mut Vec<async_nats::Message>) {
        let mut s = self.lock();
        if s.closed {
            batch.clear();
            return;
        }
        s.msgs.extend(batch.drain(..));
        if std::mem::take(&mut s.waiting) {
            drop(s);
            self.ready.notify_one();
        }
    }

    /// Moves every queued message into `out`, waiting for one if none; false once closed and
    /// empty.
    fn take_all(&self, out: &mut VecDeque<async_nats::Message>) -> bool {
        let mut s = self.lock();
        loop {
            if !s.msgs.is_empty() {
                std::mem::swap(&mut s.msgs, out);
                return true;
            }
            if s.closed {
                return false;
            }
            s.waiting = true;
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The next message, waiting at most `limit`.
    fn take_one(&self, limit: Duration) -> Taken {
        let deadline = crate::client::runtime::deadline_after(limit);
        let mut s = self.lock();
        loop {
            if let Some(m) = s.msgs.pop_front() {
                s.taking += 1;
                return Taken::Msg(m);
            }
            if s.closed {
                return Taken::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Taken::TimedOut;
            }
            s.waiting = true;
            s = self.ready.wait_timeout(s, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// No more messages will come; `queued` says what happens to those already queued.
    fn close(&self, queued: Queued) {
        let mut s = self.lock();
        s.closed = true;
        if queued == Queued::Drop {
            s.msgs.clear();
        }
        drop(s);
        self.ready.notify_all();
        self.done.notify_all();
    }

    /// A message from `take_one` has been counted.
    fn took(&self) {
        let mut s = self.lock();
        s.taking -= 1;
        if s.taking == 0 && s.msgs.is_empty() && s.closed {
            self.done.notify_all();
        }
    }

    fn finish(&self) {
        self.lock().finished = true;
        self.done.notify_all();
    }

    /// Waits until everything was delivered: the delivery thread exited (callback
    /// subscriptions) or the queue is closed and emptied by the reader (synchronous ones).
    fn wait_done(&self, delivery: Delivery, limit: Duration) -> bool {
        let deadline = crate::client::runtime::deadline_after(limit);
        let mut s = self.lock();
        loop {
            let done = match delivery {
                Delivery::Synchronous => s.closed && s.msgs.is_empty() && s.taking == 0,
                Delivery::Callback => s.finished,
            };
            if done {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = self.done.wait_timeout(s, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

enum Control {
    /// Send UNSUB now; the sender is told once it is queued.
    Unsubscribe(oneshot::Sender<()>),
    /// UNSUB after this many messages in total.
    AutoUnsubscribe(u64, oneshot::Sender<bool>),
    /// UNSUB, then deliver what the server sent before it processed the UNSUB.
    Drain(oneshot::Sender<()>),
}

/// A subscription. Created by `nats_subscribe` / `nats_queue_subscribe` / `nats_subscribe_ex`
/// (callback delivery) or `nats_subscribe_sync` / `nats_queue_subscribe_sync` (the caller
/// pulls with `nats_subscription_next_msg`), released with `nats_subscription_free`. Thread
/// safe: its functions may be called from any thread, including from its own callback.
///
/// Functions: `nats_pull_consumer_consume`, `nats_jetstream_subscribe`,
/// `nats_jetstream_subscribe_sync`, `nats_jetstream_subscribe_ordered`, `nats_subscribe`,
/// `nats_queue_subscribe`, `nats_subscribe_ex`, `nats_subscribe_sync`, `nats_queue_subscribe_sync`,
/// `nats_subscription_next_msg`, `nats_subscription_unsubscribe`,
/// `nats_subscription_auto_unsubscribe`, `nats_subscription_drain`,
/// `nats_subscription_set_pending_limits`, `nats_subscription_pending_limits`,
/// `nats_subscription_pending`, `nats_subscription_max_pending`, `nats_subscription_dropped`,
/// `nats_subscription_delivered`, `nats_subscription_is_valid`, `nats_subscription_free`.
pub struct nats_subscription {
    conn: Arc<nats_connection>,
    pending: Pending,
    delivery: Delivery,
    /// False once unsubscribed or freed: no callback starts after that.
    active: AtomicBool,
    /// True once the server side ended (auto-unsubscribe count reached, drained, or the
    /// connection closed); queued messages may still be delivered.
    ended: AtomicBool,
    control: mpsc::UnboundedSender<Control>,
    delivered: AtomicU64,
    dropped: AtomicU64,
    pending_msgs: AtomicI64,
    pending_bytes: AtomicI64,
    max_pending_msgs: AtomicI64,
    max_pending_bytes: AtomicI64,
    limit_msgs: AtomicI64,
    limit_bytes: AtomicI64,
    /// In a slow-consumer episode (reported once; ends when the queue empties).
    slow: AtomicBool,
    /// Messages received from the server (before pending limits).
    received: AtomicU64,
    /// Auto-unsubscribe limit on `received`; 0 = none.
    max: AtomicU64,
    origin: Origin,
}

/// How a subscription's messages reach the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// To a callback, on the subscription's delivery thread.
    Callback,
    /// Taken by the user with `nats_subscription_next_msg`.
    Synchronous,
}

/// Where a subscription's messages come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Core NATS.
    Core,
    /// A JetStream consumer: messages carry the connection for acknowledgements, and flow
    /// control / heartbeat status messages are answered or skipped instead of delivered.
    JetStream,
}

// C owns a `nats_subscription` with shared: C holds one strong reference (see capi::handle).
impl Castable for nats_subscription {
    type Rust = nats_subscription;
}
impl ArcHandle for nats_subscription {}

/// Where a subscription's messages come from: a core NATS subscription, or a stream of
/// messages produced by async-nats (JetStream ordered or pull consumers), whose errors are
/// reported through the error callback.
pub(crate) enum Source {
    Core(async_nats::Subscriber),
    Stream(MsgStream),
}

pub(crate) type MsgStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = std::result::Result<async_nats::Message, String>> + Send>>;

/// What to call for each message, with the user's pointer and its release function.
pub(crate) type Callback = CCallback<MsgFn>;

impl nats_subscription {
    fn subscribe(
        conn: Arc<nats_connection>,
        subject: &str,
        queue: Option<&str>,
        cb: Option<Callback>,
    ) -> Result<Arc<nats_subscription>> {
        conn.check_open()?;
        check_subject(subject, Wildcards::Allowed, "subject")?;
        if let Some(q) = queue {
            check_queue(q)?;
        }
        check_control_line("subscribe", &[subject, queue.unwrap_or("")], 0)?;
        let fut = async {
            match queue {
                Some(q) => conn.client.queue_subscribe(subject.to_string(), q.to_string()).await,
                None => conn.client.subscribe(subject.to_string()).await,
            }
        };
        let subscriber = runtime::block_on_timeout(&conn.handle, "nats_subscribe", conn.request_timeout, fut)?
            .map_err(|e| match e.kind() {
                async_nats::client::SubscribeErrorKind::InvalidSubject
                | async_nats::client::SubscribeErrorKind::InvalidQueueName => {
                    Error::new(ErrorKind::InvalidSubject, e.to_string())
                }
                _ => conn.closed_error("subscribe", e),
            })?;
        Self::start(conn, Source::Core(subscriber), cb, Origin::Core)
    }

    /// Starts delivery from `source`: a delivery thread for callbacks, and the pump task.
    pub(crate) fn start(
        conn: Arc<nats_connection>,
        source: Source,
        cb: Option<Callback>,
        origin: Origin,
    ) -> Result<Arc<nats_subscription>> {
        let (control, control_rx) = mpsc::unbounded_channel();
        let sub = Arc::new(nats_subscription {
            conn: conn.clone(),
            pending: Pending::default(),
            delivery: if cb.is_some() { Delivery::Callback } else { Delivery::Synchronous },
            active: AtomicBool::new(true),
            ended: AtomicBool::new(false),
            control,
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            pending_msgs: AtomicI64::new(0),
            pending_bytes: AtomicI64::new(0),
            max_pending_msgs: AtomicI64::new(0),
            max_pending_bytes: AtomicI64::new(0),
            limit_msgs: AtomicI64::new(NATS_DEFAULT_PENDING_MSGS),
            limit_bytes: AtomicI64::new(NATS_DEFAULT_PENDING_BYTES),
            slow: AtomicBool::new(false),
            received: AtomicU64::new(0),
            max: AtomicU64::new(0),
            origin,
        });
        if let Some(cb) = cb {
            let for_thread = sub.clone();
            conn.deliveries.started();
            let spawned = std::thread::Builder::new().name("nats-ffi-sub".into()).spawn(move || {
                // From here the subscription owns user_data (had the thread not started, the
                // call would fail and leave it to the caller).
                let cb = cb.owned();
                let conn = for_thread.conn.clone();
                deliver(for_thread, &cb);
                drop(cb); // user_data_free, after the last callback
                conn.deliveries.finished();
            });
            if let Err(e) = spawned {
                conn.deliveries.finished();
                return Err(Error::new(ErrorKind::Internal, format!("cannot start a delivery thread: {e}")));
            }
        }
        match source {
            Source::Core(subscriber) => {
                conn.handle.spawn(reporting_panics(sub.clone(), pump(subscriber, sub.clone(), control_rx)))
            }
            Source::Stream(stream) => {
                conn.handle.spawn(reporting_panics(sub.clone(), pump_stream(stream, sub.clone(), control_rx)))
            }
        };
        Ok(sub)
    }

    /// Sends a control command and waits (briefly, when allowed to block) for its answer.
    fn command<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Control, what: &str) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        if self.control.send(make(tx)).is_err() || runtime::on_runtime_thread() {
            return None;
        }
        runtime::block_on_timeout(&self.conn.handle, what, Duration::from_secs(5), rx).ok()?.ok()
    }

    fn unsubscribe(&self) -> Result<()> {
        if !self.active.swap(false, Ordering::AcqRel) {
            return Err(Error::new(ErrorKind::InvalidSubscription, "already unsubscribed"));
        }
        self.pending.close(Queued::Drop);
        self.pending_msgs.store(0, Ordering::Relaxed);
        self.pending_bytes.store(0, Ordering::Relaxed);
        if self.ended.load(Ordering::Acquire) {
            if self.conn.is_closed() {
                return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
            }
            return Err(Error::new(
                ErrorKind::InvalidSubscription,
                "the subscription had already ended (auto-unsubscribe limit reached or drained)",
            ));
        }
        // Wait until the UNSUB is queued, so a flush after this call covers it.
        self.command(Control::Unsubscribe, "nats_subscription_unsubscribe");
        if self.conn.is_closed() {
            return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
        }
        Ok(())
    }

    fn check_live(&self) -> Result<()> {
        if !self.active.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::InvalidSubscription, "the subscription was unsubscribed"));
        }
        if self.ended.load(Ordering::Acquire) {
            if self.conn.is_closed() {
                return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
            }
            return Err(Error::new(ErrorKind::InvalidSubscription, "the subscription has ended"));
        }
        Ok(())
    }

    fn auto_unsubscribe(&self, max: u64) -> Result<()> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "max must be at least 1"));
        }
        self.check_live()?;
        match self.command(|tx| Control::AutoUnsubscribe(max, tx), "nats_subscription_auto_unsubscribe") {
            Some(false) => {
                Err(Error::new(ErrorKind::ConnectionClosed, "could not send UNSUB: the connection is closed"))
            }
            _ => Ok(()),
        }
    }

    fn drain(&self, limit: Duration) -> Result<()> {
        self.check_live()?;
        self.command(Control::Drain, "nats_subscription_drain");
        if limit.is_zero() || delivering_sub(self) || runtime::on_runtime_thread() {
            return Ok(());
        }
        if !self.pending.wait_done(self.delivery, limit) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("the drain did not complete within {} ms", limit.as_millis()),
            ));
        }
        Ok(())
    }

    fn next_msg(&self, limit: Duration) -> Result<nats_msg> {
        if self.delivery == Delivery::Callback {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "next_msg needs a synchronous subscription (nats_subscribe_sync); this one has a callback",
            ));
        }
        if !self.active.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::InvalidSubscription, "the subscription was unsubscribed"));
        }
        runtime::refuse_on_runtime("nats_subscription_next_msg")?;
        match self.pending.take_one(limit) {
            Taken::Msg(m) => {
                self.taken(m.payload.len());
                self.pending.took();
                Ok(self.wrap(m))
            }
            Taken::TimedOut => {
                Err(Error::new(ErrorKind::Timeout, format!("no message within {} ms", limit.as_millis())))
            }
            Taken::Closed if self.conn.is_closed() => {
                Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed and no message is left"))
            }
            Taken::Closed => Err(Error::new(
                ErrorKind::InvalidSubscription,
                "the subscription has ended (unsubscribed, drained or max messages reached) and no message is left",
            )),
        }
    }

    /// Applies the pending limits to a batch from the server, counting what is kept and what
    /// is dropped; reports the start of a slow-consumer episode.
    fn admit(self: &Arc<Self>, batch: &mut Vec<async_nats::Message>) {
        if self.origin == Origin::JetStream {
            self.skip_js_status(batch);
        }
        let lm = self.limit_msgs.load(Ordering::Relaxed);
        let lb = self.limit_bytes.load(Ordering::Relaxed);
        let max = self.max.load(Ordering::Relaxed);
        if max > 0 {
            // async-nats may pass on a few messages it read before it processed the UNSUB
            // with its limit; never deliver more than asked.
            let room = max.saturating_sub(self.received.load(Ordering::Relaxed));
            batch.truncate(room.try_into().unwrap_or(usize::MAX));
        }
        self.received.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let mut dropped = 0;
        batch.retain(|m| {
            let len = m.payload.len() as i64;
            self.conn.stats.received(m.payload.len());
            let msgs = self.pending_msgs.load(Ordering::Relaxed);
            let bytes = self.pending_bytes.load(Ordering::Relaxed);
            if (lm >= 0 && msgs >= lm) || (lb >= 0 && bytes + len > lb) {
                dropped += 1;
                return false;
            }
            let msgs = self.pending_msgs.fetch_add(1, Ordering::AcqRel) + 1;
            let bytes = self.pending_bytes.fetch_add(len, Ordering::AcqRel) + len;
            self.max_pending_msgs.fetch_max(msgs, Ordering::Relaxed);
            self.max_pending_bytes.fetch_max(bytes, Ordering::Relaxed);
            true
        });
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
            if !self.slow.swap(true, Ordering::AcqRel) {
                self.conn.send_event(Event::Error {
                    sub: Some(self.clone()),
                    status: ErrorKind::SlowConsumer,
                    text: format!(
                        "slow consumer: pending limits ({} msgs, {} bytes) reached; messages dropped",
                        lm, lb
                    ),
                });
            }
        }
    }

    /// Queues a batch from the server for delivery (within the pending limits); true once the
    /// auto-unsubscribe count has been reached.
    fn enqueue(self: &Arc<Self>, batch: &mut Vec<async_nats::Message>) -> bool {
        if !batch.is_empty() {
            self.admit(batch);
            self.pending.push(batch);
        }
        let max = self.max.load(Ordering::Relaxed);
        max > 0 && self.received.load(Ordering::Relaxed) >= max
    }

    /// A message for C: JetStream ones carry the connection, for acknowledgements.
    fn wrap(&self, m: async_nats::Message) -> nats_msg {
        let msg = nats_msg::new(m);
        if self.origin == Origin::JetStream {
            msg.with_acker(self.conn.clone())
        } else {
            msg
        }
    }

    /// Push consumers' control messages (status 100): idle heartbeats are skipped, flow
    /// control requests (which have a reply subject) are answered so the server goes on.
    fn skip_js_status(&self, batch: &mut Vec<async_nats::Message>) {
        batch.retain(|m| {
            if m.status != Some(async_nats::StatusCode::IDLE_HEARTBEAT) {
                return true;
            }
            if let Some(reply) = &m.reply {
                let _ = self.conn.publish(reply.as_str(), None, b"");
            }
            false
        });
    }

    /// A message left the pending queue (delivered or taken).
    fn taken(&self, len: usize) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.pending_bytes.fetch_sub(len as i64, Ordering::AcqRel);
        if self.pending_msgs.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.slow.store(false, Ordering::Release);
        }
    }
}

/// Moves messages from async-nats into the pending queue, in batches, until unsubscribed, the
/// connection closes or the server side ends (auto-unsubscribe count, drain).
async fn pump(
    mut subscriber: async_nats::Subscriber,
    sub: Arc<nats_subscription>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut closed = sub.conn.closed.subscribe();
    let mut batch = Vec::with_capacity(256);
    let mut controls_open = true;
    loop {
        tokio::select! {
            biased;
            c = control.recv(), if controls_open => match c {
                Some(Control::AutoUnsubscribe(max, ack)) => {
                    sub.max.store(max, Ordering::Relaxed);
                    if sub.received.load(Ordering::Relaxed) >= max {
                        let _ = subscriber.unsubscribe().await;
                        let _ = ack.send(true);
                        break;
                    }
                    let _ = ack.send(subscriber.unsubscribe_after(max).await.is_ok());
                }
                Some(Control::Drain(ack)) => {
                    // See `nats_connection::shutdown`: a round trip first, so that nothing
                    // the server already routed to us is lost when async-nats drops the
                    // subscription right after sending the UNSUB.
                    let _ = crate::connection::probe(&sub.conn.client, &sub.conn.outbox).await;
                    let _ = subscriber.drain().await;
                    let _ = ack.send(());
                }
                Some(Control::Unsubscribe(ack)) => {
                    let _ = subscriber.unsubscribe().await;
                    let _ = ack.send(());
                    break;
                }
                None => controls_open = false,
            },
            _ = wait_closed(&mut closed) => {
                // Deliver what already arrived (a connection drain lets it all arrive first).
                // `unconstrained`: tokio's cooperative budget would otherwise report an empty
                // channel after ~128 receives in one poll, and the rest would be lost.
                while let Some(Some(m)) = tokio::task::unconstrained(subscriber.next()).now_or_never() {
                    batch.push(m);
                }
                sub.enqueue(&mut batch);
                break;
            }
            m = subscriber.next() => match m {
                Some(m) => {
                    batch.push(m);
                    while batch.len() < 256 {
                        match tokio::task::unconstrained(subscriber.next()).now_or_never() {
                            Some(Some(m)) => batch.push(m),
                            _ => break,
                        }
                    }
                    if sub.enqueue(&mut batch) {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    sub.ended.store(true, Ordering::Release);
    // Deliver what is already queued (unless unsubscribed, which discarded it), then stop.
    sub.pending.close(Queued::Deliver);
}

/// As `pump`, for a stream source: its errors go to the error callback; unsubscribe and
/// drain end it (a JetStream consumer redelivers what was not acknowledged).
/// Runs a subscription's pump; should it panic (a bug), the subscription ends and the
/// connection's error callback gets `NATS_ERR_PANIC` with the detail, instead of the task
/// dying silently on a runtime thread.
async fn reporting_panics(sub: Arc<nats_subscription>, pump: impl std::future::Future<Output = ()>) {
    use futures_util::FutureExt;
    if let Err(payload) = std::panic::AssertUnwindSafe(pump).catch_unwind().await {
        let text =
            format!("subscription stopped by an internal error: {}", crate::capi::guard::panic_text(payload.as_ref()));
        sub.ended.store(true, Ordering::Release);
        sub.pending.close(Queued::Deliver);
        sub.conn.send_event(Event::Error { sub: Some(sub.clone()), status: ErrorKind::Panic, text });
    }
}

async fn pump_stream(stream: MsgStream, sub: Arc<nats_subscription>, mut control: mpsc::UnboundedReceiver<Control>) {
    // Fused: a stream that ended (an ordered consumer gives up after an error) is never
    // polled again; async-nats' streams panic when resumed after completion.
    let mut stream = stream.fuse();
    let mut closed = sub.conn.closed.subscribe();
    let mut batch = Vec::with_capacity(256);
    let mut controls_open = true;
    let take = |stream: &mut futures_util::stream::Fuse<MsgStream>,
                batch: &mut Vec<async_nats::Message>,
                first: Option<std::result::Result<async_nats::Message, String>>| {
        let mut item = first;
        loop {
            match item {
                Some(Ok(m)) => batch.push(m),
                Some(Err(text)) => {
                    sub.conn.send_event(Event::Error { sub: Some(sub.clone()), status: ErrorKind::JetStream, text })
                }
                None => {}
            }
            if batch.len() >= 256 {
                break;
            }
            match tokio::task::unconstrained(stream.next()).now_or_never() {
                Some(Some(next)) => item = Some(next),
                _ => break,
            }
        }
    };
    loop {
        tokio::select! {
            biased;
            c = control.recv(), if controls_open => match c {
                Some(Control::AutoUnsubscribe(max, ack)) => {
                    sub.max.store(max, Ordering::Relaxed);
                    let _ = ack.send(true);
                    if sub.received.load(Ordering::Relaxed) >= max {
                        break;
                    }
                }
                Some(Control::Drain(ack)) => {
                    take(&mut stream, &mut batch, None);
                    sub.enqueue(&mut batch);
                    let _ = ack.send(());
                    break;
                }
                Some(Control::Unsubscribe(ack)) => {
                    let _ = ack.send(());
                    break;
                }
                None => controls_open = false,
            },
            _ = wait_closed(&mut closed) => {
                take(&mut stream, &mut batch, None);
                sub.enqueue(&mut batch);
                break;
            }
            m = stream.next() => match m {
                Some(item) => {
                    take(&mut stream, &mut batch, Some(item));
                    if sub.enqueue(&mut batch) {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    drop(stream);
    sub.ended.store(true, Ordering::Release);
    sub.pending.close(Queued::Deliver);
}

/// The delivery thread's loop.
fn deliver(sub: Arc<nats_subscription>, cb: &Callback) {
    let handle: *mut nats_subscription = arc_ptr(&sub);
    DELIVERING.with(|d| d.set((Arc::as_ptr(&sub.conn) as usize, handle as usize)));
    let mut batch = VecDeque::new();
    'outer: while sub.pending.take_all(&mut batch) {
        while let Some(m) = batch.pop_front() {
            if !sub.active.load(Ordering::Acquire) {
                break 'outer;
            }
            let len = m.payload.len();
            let msg = sub.wrap(m);
            // SAFETY: the user's callback with the user's pointer; `handle` stays valid while
            // this thread holds `sub`, `msg` while the call lasts.
            unsafe { (cb.f())(cb.user_data(), handle, &msg) };
            sub.taken(len);
        }
    }
    sub.pending.finish();
}

#[allow(clippy::too_many_arguments)]
unsafe fn subscribe_common(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: Option<*const c_char>,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    delivery: Delivery,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        borrow(conn, "conn")?;
        let subject = str_arg(subject, "subject")?;
        let queue = match queue {
            Some(q) => Some(str_arg(q, "queue")?),
            None => None,
        };
        let cb = match delivery {
            Delivery::Synchronous => None,
            Delivery::Callback => Some(CCallback::new(cb.ok_or_else(|| null("cb"))?, user_data, user_data_free)),
        };
        out_arg(out, "out")?;
        let sub = nats_subscription::subscribe(clone_arc(conn, "conn")?, subject, queue, cb)?;
        arc_out(out, sub);
        Ok(())
    })
}

/// Subscribes to `subject` (wildcards `*` and a final `>` allowed) and calls `cb(user_data,
/// sub, msg)` for each message, on a dedicated thread, in order. On success writes the
/// subscription to `*out`; release it with `nats_subscription_free`. The SUB is queued when
/// this returns; `nats_connection_flush` makes sure the server has it.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (conn, subject, cb, out), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_SUBJECT` (also when subject and queue would make a protocol line longer
/// than `NATS_MAX_CONTROL_LINE`), `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT` (the
/// connection's send queue stayed full for request_timeout), `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe(
    conn: *mut nats_connection,
    subject: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, None, cb, user_data, None, Delivery::Callback, out)
}

/// As `nats_subscribe`, as a member of queue group `queue`: each message is delivered to one
/// member of the group only. Errors: as `nats_subscribe`; `NATS_ERR_INVALID_SUBJECT` also for
/// an empty queue name or one with whitespace.
#[no_mangle]
pub unsafe extern "C" fn nats_queue_subscribe(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, Some(queue), cb, user_data, None, Delivery::Callback, out)
}

/// The full form: `queue` may be NULL (plain subscription); `user_data_free`, if not NULL, is
/// called exactly once with `user_data` after the last callback has returned, on the delivery
/// thread. When the call fails it is not called: `user_data` stays the caller's.
/// Errors: as `nats_queue_subscribe`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe_ex(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    let queue = if queue.is_null() { None } else { Some(queue) };
    subscribe_common(conn, subject, queue, cb, user_data, user_data_free, Delivery::Callback, out)
}

/// Subscribes to `subject` for synchronous delivery: messages queue up (within the pending
/// limits) until taken with `nats_subscription_next_msg`. Release with
/// `nats_subscription_free`. Errors: as `nats_subscribe` (no `cb`).
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe_sync(
    conn: *mut nats_connection,
    subject: *const c_char,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, None, None, std::ptr::null_mut(), None, Delivery::Synchronous, out)
}

/// As `nats_subscribe_sync`, as a member of queue group `queue`.
#[no_mangle]
pub unsafe extern "C" fn nats_queue_subscribe_sync(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, Some(queue), None, std::ptr::null_mut(), None, Delivery::Synchronous, out)
}

/// Takes the next message of a synchronous subscription, waiting at most `timeout_ms`
/// (0: do not wait, only take one already there). On success writes it to `*msg`, owned by
/// the caller (`nats_msg_free`). Messages that arrived before the subscription ended
/// (auto-unsubscribe, drain, connection closed) are still returned; after them, the end is
/// reported. Errors: `NATS_ERR_TIMEOUT` (none arrived in time), `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a callback subscription), `NATS_ERR_INVALID_SUBSCRIPTION`
/// (unsubscribed, or ended and empty), `NATS_ERR_CONNECTION_CLOSED` (closed and empty),
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`. Several threads may wait on one subscription; each message
/// goes to one of them.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_next_msg(
    sub: *mut nats_subscription,
    timeout_ms: u64,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        out_arg(msg, "msg")?;
        let m = s.next_msg(Duration::from_millis(timeout_ms))?;
        box_out(msg, m);
        Ok(())
    })
}

/// Stops the subscription: messages still queued for it are discarded, no callback starts
/// after this returns (one already running on the delivery thread finishes), and the UNSUB
/// is queued to the server. The handle stays valid until `nats_subscription_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_SUBSCRIPTION` (already unsubscribed,
/// or already ended by auto-unsubscribe or drain), `NATS_ERR_CONNECTION_CLOSED` (its
/// connection is closed; the subscription is stopped anyway).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_unsubscribe(sub: *mut nats_subscription) -> nats_status {
    guard(|| borrow(sub, "sub")?.unsubscribe())
}

/// Unsubscribes automatically once `max` messages in total (counting those already
/// received) have arrived: exactly `max` are delivered, then the subscription ends (and
/// `user_data_free` runs). If `max` were already received, it ends at once. The UNSUB is
/// queued when this returns. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT`
/// (`max` 0), `NATS_ERR_INVALID_SUBSCRIPTION` (unsubscribed or ended),
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_auto_unsubscribe(sub: *mut nats_subscription, max: u64) -> nats_status {
    guard(|| borrow(sub, "sub")?.auto_unsubscribe(max))
}

/// Drains the subscription: the server is told to stop sending (UNSUB), and every message it
/// sent before that is still delivered (to the callback, or by `nats_subscription_next_msg`).
/// With `timeout_ms` > 0, waits until all of them were delivered (callback subscriptions: the
/// last callback returned; synchronous ones: the queue was emptied by the reader), at most
/// that long; 0 starts the drain and returns at once. Called from the subscription's own
/// callback, it never waits. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_SUBSCRIPTION`
/// (unsubscribed or already ended), `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_drain(sub: *mut nats_subscription, timeout_ms: u64) -> nats_status {
    guard(|| borrow(sub, "sub")?.drain(Duration::from_millis(timeout_ms)))
}

/// Sets the pending limits: how many messages and payload bytes may be pending (waiting for
/// the callback or being processed by it, or waiting for `next_msg`). Beyond them, new messages are dropped (counted by
/// `nats_subscription_dropped`) and the error callback gets `NATS_ERR_SLOW_CONSUMER` with
/// this subscription, once per episode (until the queue empties). A negative value means no
/// limit. Defaults: 65536 messages, 64 MiB. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a limit of 0).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_set_pending_limits(
    sub: *mut nats_subscription,
    msgs: i64,
    bytes: i64,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        if msgs == 0 || bytes == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a pending limit of 0 would drop everything; use -1 for no limit",
            ));
        }
        s.limit_msgs.store(msgs.max(-1), Ordering::Relaxed);
        s.limit_bytes.store(bytes.max(-1), Ordering::Relaxed);
        Ok(())
    })
}

/// Writes the pending limits (-1 = none) to `*msgs` and `*bytes`; either may be NULL.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_pending_limits(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        write_opt(msgs, s.limit_msgs.load(Ordering::Relaxed));
        write_opt(bytes, s.limit_bytes.load(Ordering::Relaxed));
        Ok(())
    })
}

unsafe fn write_opt<T>(p: *mut T, v: T) {
    if !p.is_null() {
        write_out(p, v);
    }
}

/// Writes how many messages and payload bytes are pending to `*msgs` and `*bytes` (either may
/// be NULL): received and not yet delivered, counting the one a callback is processing (until
/// it returns) or, for synchronous subscriptions, those not yet taken. The pending limits
/// apply to these counts.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_pending(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        write_opt(msgs, s.pending_msgs.load(Ordering::Relaxed).max(0));
        write_opt(bytes, s.pending_bytes.load(Ordering::Relaxed).max(0));
        Ok(())
    })
}

/// Writes the highest pending counts seen so far (see `nats_subscription_pending`).
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_max_pending(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        write_opt(msgs, s.max_pending_msgs.load(Ordering::Relaxed));
        write_opt(bytes, s.max_pending_bytes.load(Ordering::Relaxed));
        Ok(())
    })
}

/// Number of messages dropped because the pending limits were reached; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_dropped(sub: *const nats_subscription) -> u64 {
    guard_value(0, || sub.as_ref().map_or(0, |s| s.dropped.load(Ordering::Relaxed)))
}

/// Number of messages delivered so far: callbacks that returned, or messages taken with
/// `nats_subscription_next_msg`; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_delivered(sub: *const nats_subscription) -> u64 {
    guard_value(0, || sub.as_ref().map_or(0, |s| s.delivered.load(Ordering::Relaxed)))
}

/// True while the subscription may still deliver messages: not unsubscribed, and not ended
/// with its queue empty. False for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_is_valid(sub: *const nats_subscription) -> bool {
    guard_value(false, || {
        sub.as_ref().is_some_and(|s| {
            s.active.load(Ordering::Acquire)
                && !(s.ended.load(Ordering::Acquire) && s.pending_msgs.load(Ordering::Relaxed) <= 0)
        })
    })
}

/// Unsubscribes (if still active) and releases the caller's handle. NULL is a no-op. Safe to
/// call from the subscription's own callback (the message and `sub` stay valid until that
/// callback returns). `user_data_free` runs once the delivery thread has finished.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_free(sub: *mut nats_subscription) {
    guard_void(|| {
        if let Some(s) = free_arc(sub) {
            if s.active.load(Ordering::Acquire) {
                let _ = s.unsubscribe();
            }
        }
    })
}
