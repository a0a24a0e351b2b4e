//! Subscriptions, with callback or synchronous delivery.
//!
//! Each subscription has a pump task on the runtime, which moves messages from async-nats into
//! the subscription's pending queue (enforcing its pending limits), and either a delivery
//! lane (see [`crate::client::delivery`]: a thread of its own, the shared pool or the
//! application's dispatcher), which takes them from the queue in order and calls the handler,
//! or (synchronous subscriptions) the caller's thread in `Subscription::next_msg`. Handlers
//! therefore never run on runtime threads and may call any blocking API function.

use crate::client::connection::{probe, wait_closed, Connection};
use crate::client::delivery::lane::{self, Scheduler};
use crate::client::delivery::{self, Callback, MessageHandler};
use crate::client::error::*;
use crate::client::events::error_event;
use crate::client::message::Message;
use crate::client::runtime;
use crate::client::subject::*;
use futures_util::{FutureExt, StreamExt};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Default pending limit of a subscription in messages, as nats.c: 65536.
pub(crate) const DEFAULT_PENDING_MSGS: i64 = 65536;
/// Default pending limit of a subscription in bytes, as nats.c: 64 MiB.
pub(crate) const DEFAULT_PENDING_BYTES: i64 = 64 * 1024 * 1024;

/// What closing a subscription's queue does with the messages still in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// Unsubscribed: they are dropped.
    Drop,
    /// Drained or ended: they are still delivered.
    Deliver,
}

/// Messages waiting for the delivery lane (or for `next_msg`).
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
    /// The delivery lane made its last handler call (callback subscriptions).
    finished: bool,
    /// Messages taken by `next_msg` whose counters are not updated yet.
    taking: u32,
    /// The delivery lane takes nothing yet: the caller does not hold the subscription's
    /// handle (see [`Subscription::start_callbacks`]).
    held: bool,
    /// Callback subscriptions: the handler, between the lane's runs (a run takes it out with
    /// the messages and puts it back with its last look at the queue, under this lock it
    /// takes anyway: no lock of its own). `None` before the lane starts and once it finished.
    handler: Option<Callback>,
}

/// What [`Subscription::take_queued`] found.
pub(crate) enum Take {
    /// Messages were moved out.
    Taken,
    /// None now; more may come.
    Empty,
    /// None, and none will come.
    Closed,
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

    /// Queues a batch after `admit` applied the pending limits and counted it, under the
    /// queue's lock: whoever reads the counters under that lock finds the messages queued.
    fn push(&self, batch: &mut Vec<async_nats::Message>, admit: impl FnOnce(&mut Vec<async_nats::Message>)) {
        let mut s = self.lock();
        admit(batch);
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

    /// Moves up to `max` queued messages into `out` (which is empty), without waiting: all
    /// of them in one swap when they are no more than that. `Taken` with none moved when
    /// `max` is 0 and messages wait. With `Taken` the handler comes out into `handler` (if
    /// it is not there already); otherwise `handler` goes back.
    fn take_up_to(&self, out: &mut VecDeque<async_nats::Message>, max: usize, handler: &mut Option<Callback>) -> Take {
        let mut s = self.lock();
        let take = if s.held {
            Take::Empty
        } else if !s.msgs.is_empty() {
            if s.msgs.len() <= max {
                std::mem::swap(&mut s.msgs, out);
            } else {
                out.extend(s.msgs.drain(..max));
            }
            Take::Taken
        } else if s.closed {
            Take::Closed
        } else {
            Take::Empty
        };
        match take {
            Take::Taken if handler.is_none() => *handler = s.handler.take(),
            Take::Taken => {}
            Take::Empty | Take::Closed => {
                if let Some(h) = handler.take() {
                    s.handler = Some(h);
                }
            }
        }
        take
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

    /// Lets the delivery lane take messages (see [`PendingState::held`]); whether it has
    /// work now (messages, or the end).
    fn release(&self) -> bool {
        let mut s = self.lock();
        s.held = false;
        !s.msgs.is_empty() || s.closed
    }

    fn finish(&self) {
        self.lock().finished = true;
        self.done.notify_all();
    }

    /// Waits until everything was delivered: the delivery lane finished (callback
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

/// A subscription: its pending queue with limits and counters, how it is driven (its core
/// subscription id, or its pump's control channel), and how its messages reach the user.
pub(crate) struct Subscription {
    conn: Arc<Connection>,
    pending: Pending,
    /// Callback subscriptions: the scheduler their lane (the subscription itself, see
    /// `delivery`) is queued on when the pending queue changes, and the lane's state. Only
    /// callback subscriptions have a lane (see [`Subscription::delivery`]).
    scheduler: Option<Arc<Scheduler>>,
    lane_state: std::sync::atomic::AtomicU8,
    /// False once unsubscribed or freed: no callback starts after that.
    active: AtomicBool,
    /// True once the server side ended (auto-unsubscribe count reached, drained, or the
    /// connection closed); queued messages may still be delivered.
    ended: AtomicBool,
    /// Core subscriptions: async-nats' subscription id, once registered (0 before: ids start
    /// at 1). A pumped one's control channel is in its `Origin`.
    core_sid: AtomicU64,
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
    /// Core subscriptions: where the connection's `CoreSubscriptions` lists it.
    registry_slot: std::sync::atomic::AtomicU32,
    origin: Origin,
    names: Names,
}

/// A subscription's subject and queue group, each followed by a NUL so that C can borrow
/// them as strings for as long as the subscription lives. Short ones (`INLINE_NAMES` bytes
/// with their NULs, such as `orders.eu.created`) are kept in the subscription itself rather
/// than in an allocation of their own (a 32-byte heap chunk), in the space the pointer to
/// one would take.
enum Names {
    Inline {
        /// The names, then zeros (the names hold no NUL of their own: see `Names::inline`).
        bytes: [u8; INLINE_NAMES],
        /// Where the queue group starts in `bytes`; `NO_INLINE_QUEUE` for none.
        queue_at: u8,
    },
    Heap {
        bytes: Box<[u8]>,
        /// Where the queue group starts in `bytes`; `NO_QUEUE` for none (a u32 keeps
        /// `Names` as small as the inline form: subjects are shorter than a control line).
        queue_at: u32,
    },
}

const INLINE_NAMES: usize = 22;
const NO_INLINE_QUEUE: u8 = u8::MAX;
const NO_QUEUE: u32 = u32::MAX;
const _: () = assert!(std::mem::size_of::<Names>() <= 24, "Names grew past a pointer and a length");

/// The text of a NUL-terminated name made by `Names::new` (from a `str`, so UTF-8).
fn without_nul(name: &[u8]) -> &str {
    std::str::from_utf8(name.strip_suffix(&[0]).unwrap_or(name)).unwrap_or_default()
}

/// The NUL-terminated name at the start of `bytes`.
fn first_name(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).map_or(bytes.len(), |nul| nul + 1);
    &bytes[..end]
}

impl Names {
    fn new(subject: &str, queue: Option<&str>) -> Names {
        if let Some(inline) = Names::inline(subject, queue) {
            return inline;
        }
        let mut bytes = nul_terminated(subject).into_vec();
        let queue_at = queue.map_or(NO_QUEUE, |q| {
            let at = u32::try_from(bytes.len()).unwrap_or(NO_QUEUE);
            bytes.extend_from_slice(&nul_terminated(q));
            at
        });
        Names::Heap { bytes: bytes.into_boxed_slice(), queue_at }
    }

    /// Short names without NULs of their own (the usual ones), kept inline without the
    /// allocations `nul_terminated` makes. (Names with NULs, which `nul_terminated` strips, go
    /// on the heap whatever their length.)
    fn inline(subject: &str, queue: Option<&str>) -> Option<Names> {
        let queue_len = queue.map_or(0, |q| q.len() + 1);
        if subject.len() + 1 + queue_len > INLINE_NAMES
            || subject.contains('\0')
            || queue.is_some_and(|q| q.contains('\0'))
        {
            return None;
        }
        let mut bytes = [0; INLINE_NAMES];
        bytes[..subject.len()].copy_from_slice(subject.as_bytes());
        let mut queue_at = NO_INLINE_QUEUE;
        if let Some(q) = queue {
            let at = subject.len() + 1;
            bytes[at..at + q.len()].copy_from_slice(q.as_bytes());
            queue_at = at as u8;
        }
        Some(Names::Inline { bytes, queue_at })
    }

    /// The subject, followed by its NUL.
    fn subject(&self) -> &[u8] {
        match self {
            Names::Inline { bytes, .. } => first_name(bytes),
            Names::Heap { bytes, .. } => first_name(bytes),
        }
    }

    /// The queue group, followed by its NUL.
    fn queue(&self) -> Option<&[u8]> {
        match self {
            Names::Inline { bytes, queue_at } => {
                (*queue_at != NO_INLINE_QUEUE).then(|| first_name(&bytes[*queue_at as usize..]))
            }
            Names::Heap { bytes, queue_at } => (*queue_at != NO_QUEUE).then(|| &bytes[*queue_at as usize..]),
        }
    }
}

/// How a subscription's messages reach the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// To a callback, on the subscription's delivery lane.
    Callback,
    /// Taken by the user with [`Subscription::next_msg`].
    Synchronous,
}

/// Where a subscription's messages come from.
enum Origin {
    /// Core NATS.
    Core,
    /// A JetStream consumer: messages carry the connection for acknowledgements, and flow
    /// control / heartbeat status messages are answered or skipped instead of delivered. With
    /// the consumer, when it keeps its name (not ordered), for its info, and the pump's
    /// control channel. (Boxed: a core subscription pays one pointer for it, no tag.)
    JetStream(Box<JetStreamOrigin>),
}

/// What a JetStream subscription has beyond a core one.
struct JetStreamOrigin {
    bound: Option<BoundConsumer>,
    /// Its pump's control channel.
    control: mpsc::UnboundedSender<Control>,
}

/// The JetStream consumer a subscription is bound to, for its info.
pub(crate) struct BoundConsumer {
    pub js: Arc<crate::client::jetstream::context::JetStream>,
    pub stream: String,
    pub name: String,
}

impl Subscription {
    /// The current info of the JetStream consumer this subscription is bound to.
    pub(crate) fn consumer_info(&self) -> Result<async_nats::jetstream::consumer::Info> {
        match &self.origin {
            Origin::JetStream(js) => match &js.bound {
                Some(c) => c.js.consumer_info(&c.stream, &c.name),
                None => Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "an ordered consumer is recreated under new names by the library: it has no lasting consumer info",
                )),
            },
            Origin::Core => Err(Error::new(ErrorKind::InvalidArgument, "not a JetStream subscription")),
        }
    }
}

/// How a subscription reaches its source.
enum Upstream<'a> {
    /// A core subscription whose messages async-nats' connection task hands to the
    /// subscription itself (async-nats patches 6 and 17): no channel and no task of its own;
    /// driven by its subscription id.
    Core(u64),
    /// A feed read by a pump task, driven through the pump's control channel.
    Pumped(&'a mpsc::UnboundedSender<Control>),
}

/// Where a pumped subscription's messages come from: a core NATS subscriber (JetStream push
/// consumers), or a stream of messages produced by async-nats (JetStream ordered or pull
/// consumers), whose errors are reported through the error callback.
pub(crate) enum Source {
    Core(async_nats::Subscriber),
    Stream(MsgStream),
}

pub(crate) type MsgStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = std::result::Result<async_nats::Message, String>> + Send>>;

impl Subscription {
    pub(crate) fn subscribe(
        conn: Arc<Connection>,
        subject: &str,
        queue: Option<&str>,
        cb: Option<Callback>,
    ) -> Result<Arc<Subscription>> {
        conn.check_open()?;
        check_subject(subject, Wildcards::Allowed, "subject")?;
        if let Some(q) = queue {
            check_queue(q)?;
        }
        check_control_line("subscribe", &[subject, queue.unwrap_or("")], 0)?;
        // Not accepted when this fails: dropping `cb` leaves what it holds to the caller.
        let scheduler = cb.as_ref().map(|_| delivery::scheduler(&conn)).transpose()?;
        let sub = Subscription::new(conn.clone(), scheduler, Origin::Core, Names::new(subject, queue));
        // Registered with the connection task, which takes it in before the SUB reaches it;
        // the SUB itself goes into the publish buffer, so it is sent after what this connection
        // published before it, as in nats.c where both share one buffer (a subscription never
        // receives earlier publishes), and a burst of subscribes is a few writes, not one each.
        let Ok(sid) = conn.client.register_subscription(sub.clone()) else {
            sub.give_up();
            return Err(Error::new(ErrorKind::ConnectionClosed, "subscribe: the connection is closed"));
        };
        sub.core_sid.store(sid, Ordering::Release);
        // Before the handler is in place: a failure after the subscription took the callback
        // would leave a callback owned twice.
        if let Err(e) = conn.outbox.subscribe(subject, queue, sid) {
            let _ = sub.unsubscribe();
            sub.give_up();
            return Err(e);
        }
        if let Some(cb) = cb {
            // What is queued before the caller holds the handle waits for `start_callbacks`.
            delivery::start(&sub, cb);
        }
        conn.core_subs.add(&sub);
        if conn.is_closed() {
            sub.source_ended();
        }
        // Ended already (its handler may have been dropped before the entry was made): no
        // entry may outlive it.
        if sub.ended.load(Ordering::Acquire) {
            conn.core_subs.remove(&sub);
        }
        Ok(sub)
    }

    /// A subscription; with `scheduler`, a callback subscription whose lane is queued there
    /// (it takes nothing until `start_callbacks`, and runs no handler before
    /// `delivery::start`).
    fn new(
        conn: Arc<Connection>,
        scheduler: Option<Arc<Scheduler>>,
        origin: Origin,
        names: Names,
    ) -> Arc<Subscription> {
        let pending = Pending::default();
        pending.lock().held = scheduler.is_some();
        Arc::new(Subscription {
            conn,
            pending,
            scheduler,
            lane_state: lane::idle(),
            active: AtomicBool::new(true),
            ended: AtomicBool::new(false),
            core_sid: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            pending_msgs: AtomicI64::new(0),
            pending_bytes: AtomicI64::new(0),
            max_pending_msgs: AtomicI64::new(0),
            max_pending_bytes: AtomicI64::new(0),
            limit_msgs: AtomicI64::new(DEFAULT_PENDING_MSGS),
            limit_bytes: AtomicI64::new(DEFAULT_PENDING_BYTES),
            slow: AtomicBool::new(false),
            received: AtomicU64::new(0),
            max: AtomicU64::new(0),
            registry_slot: std::sync::atomic::AtomicU32::new(NO_SLOT),
            origin,
            names,
        })
    }

    /// Starts a pumped subscription from `source` (a JetStream consumer's, bound to `bound`
    /// when the consumer keeps its name; the getters report `subject` and `queue`): a delivery
    /// lane for callbacks, and the pump task. Callbacks wait for
    /// [`Subscription::start_callbacks`].
    pub(crate) fn start(
        conn: Arc<Connection>,
        source: Source,
        cb: Option<Callback>,
        bound: Option<BoundConsumer>,
        (subject, queue): (&str, Option<&str>),
    ) -> Result<Arc<Subscription>> {
        let (control, control_rx) = mpsc::unbounded_channel();
        let origin = Origin::JetStream(Box::new(JetStreamOrigin { bound, control }));
        let scheduler = cb.as_ref().map(|_| delivery::scheduler(&conn)).transpose()?;
        let sub = Subscription::new(conn.clone(), scheduler, origin, Names::new(subject, queue));
        if let Some(cb) = cb {
            delivery::start(&sub, cb);
        }
        match source {
            Source::Core(subscriber) => {
                conn.handle.spawn(reporting_panics(sub.clone(), pump(subscriber, sub.clone(), control_rx)))
            }
            Source::Stream(stream) => {
                conn.handle.spawn(reporting_panics(sub.clone(), pump(stream.fuse(), sub.clone(), control_rx)))
            }
        };
        Ok(sub)
    }

    /// Callbacks may run from now on: the caller holds the subscription's handle. Until then
    /// messages wait in the pending queue, because a callback may free its own subscription
    /// (`nats_subscription_free(sub)` from inside it) and must not give back a reference the
    /// caller was not handed yet: that freed the subscription under the subscribe call.
    pub(crate) fn start_callbacks(self: &Arc<Self>) {
        if self.pending.release() {
            lane::notify(self);
        }
    }

    /// A subscribe failed before the handler was in place: the lane (with dedicated threads,
    /// a thread of its own, waiting for it) runs once, finds the queue closed and finishes.
    fn give_up(self: &Arc<Self>) {
        self.pending.close(Queued::Drop);
        self.start_callbacks();
    }

    /// The source ended (unsubscribed or drained at the server, auto-unsubscribe count
    /// reached, connection closed): what is queued is still delivered.
    fn source_ended(self: &Arc<Self>) {
        self.ended.store(true, Ordering::Release);
        self.close_pending(Queued::Deliver);
    }

    /// Runs a call to async-nats for a core subscription: waits for it (at most 5 s) when
    /// this thread may block, else lets it run on the runtime. `None`: not waited for.
    fn core_call<F>(&self, what: &str, fut: F) -> Option<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if runtime::on_runtime_thread() {
            self.conn.handle.spawn(fut);
            return None;
        }
        runtime::block_on_timeout(&self.conn.handle, what, Duration::from_secs(5), fut).ok()
    }

    /// Sends a control command to the pump and waits (briefly, when allowed to block) for its
    /// answer.
    fn command<T>(
        &self,
        control: &mpsc::UnboundedSender<Control>,
        make: impl FnOnce(oneshot::Sender<T>) -> Control,
        what: &str,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        if control.send(make(tx)).is_err() || runtime::on_runtime_thread() {
            return None;
        }
        runtime::block_on_timeout(&self.conn.handle, what, Duration::from_secs(5), rx).ok()?.ok()
    }

    pub(crate) fn unsubscribe(self: &Arc<Self>) -> Result<()> {
        // Read before going inactive: the connection task ends a core subscription as soon
        // as it finds it inactive, and that end is this call's doing, not an earlier one.
        let ended_before = self.ended.load(Ordering::Acquire);
        if !self.active.swap(false, Ordering::AcqRel) {
            return Err(Error::new(ErrorKind::InvalidSubscription, "already unsubscribed"));
        }
        self.close_pending(Queued::Drop);
        self.pending_msgs.store(0, Ordering::Relaxed);
        self.pending_bytes.store(0, Ordering::Relaxed);
        if ended_before {
            if self.conn.is_closed() {
                return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
            }
            return Err(Error::new(
                ErrorKind::InvalidSubscription,
                "the subscription had already ended (auto-unsubscribe limit reached or drained)",
            ));
        }
        // Wait until the UNSUB is queued, so a flush after this call covers it.
        match self.upstream() {
            Some(Upstream::Core(sid)) => {
                self.core_unsubscribe(sid, None);
            }
            Some(Upstream::Pumped(control)) => {
                self.command(control, Control::Unsubscribe, "nats_subscription_unsubscribe");
            }
            None => {}
        }
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

    pub(crate) fn auto_unsubscribe(self: &Arc<Self>, max: u64) -> Result<()> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "max must be at least 1"));
        }
        self.check_live()?;
        let sent = match self.upstream() {
            Some(Upstream::Core(sid)) => Some(self.auto_unsubscribe_core(sid, max)),
            Some(Upstream::Pumped(control)) => {
                self.command(control, |tx| Control::AutoUnsubscribe(max, tx), "nats_subscription_auto_unsubscribe")
            }
            None => None,
        };
        match sent {
            Some(false) => {
                Err(Error::new(ErrorKind::ConnectionClosed, "could not send UNSUB: the connection is closed"))
            }
            _ => Ok(()),
        }
    }

    /// Auto-unsubscribe of a core subscription: at once when `max` were received already.
    /// Whether the UNSUB was queued (false: the connection is closed).
    fn auto_unsubscribe_core(self: &Arc<Self>, sid: u64, max: u64) -> bool {
        self.max.store(max, Ordering::Relaxed);
        if self.received.load(Ordering::Relaxed) >= max {
            let sent = self.core_unsubscribe(sid, None);
            self.source_ended();
            return sent;
        }
        self.core_unsubscribe(sid, Some(max))
    }

    /// Unsubscribes core subscription `sid` (after `max` messages in all, or now), without
    /// waiting: async-nats is told to drop it (queued, applied before the UNSUB reaches it),
    /// and the UNSUB goes into the publish buffer after its SUB (which may still wait
    /// there). False if the connection is closed.
    fn core_unsubscribe(&self, sid: u64, max: Option<u64>) -> bool {
        self.conn.client.release_sid(sid, max).is_ok() && self.conn.outbox.unsubscribe(sid, max).is_ok()
    }

    pub(crate) fn drain(&self, limit: Duration) -> Result<()> {
        self.check_live()?;
        match self.upstream() {
            Some(Upstream::Core(sid)) => {
                // See `Connection::shutdown`: a round trip first, so that nothing the server
                // already routed to us is lost when async-nats drops the subscription right
                // after the UNSUB.
                let (client, outbox) = (self.conn.client.clone(), self.conn.outbox.clone());
                self.core_call("nats_subscription_drain", async move {
                    let _ = probe(&client, &outbox).await;
                    let _ = client.drain_sid(sid).await;
                });
            }
            Some(Upstream::Pumped(control)) => {
                self.command(control, Control::Drain, "nats_subscription_drain");
            }
            None => {}
        }
        if limit.is_zero() || delivery::delivering_sub(self) || runtime::on_runtime_thread() {
            return Ok(());
        }
        if !self.conn.executor.wait_for(limit, |slice| self.pending.wait_done(self.delivery(), slice)) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("the drain did not complete within {} ms", limit.as_millis()),
            ));
        }
        Ok(())
    }

    pub(crate) fn next_msg(&self, limit: Duration) -> Result<Message> {
        if self.delivery() == Delivery::Callback {
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
        if !matches!(self.origin, Origin::Core) {
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
                self.conn.send_event(error_event(
                    Some(self.clone()),
                    ErrorKind::SlowConsumer,
                    format!("slow consumer: pending limits ({lm} msgs, {lb} bytes) reached; messages dropped"),
                ));
            }
        }
    }

    /// Queues a batch from the server for delivery (within the pending limits); true once the
    /// auto-unsubscribe count has been reached.
    fn enqueue(self: &Arc<Self>, batch: &mut Vec<async_nats::Message>) -> bool {
        if !batch.is_empty() {
            self.pending.push(batch, |batch| self.admit(batch));
            lane::notify(self);
        }
        let max = self.max.load(Ordering::Relaxed);
        max > 0 && self.received.load(Ordering::Relaxed) >= max
    }

    /// A message for C: JetStream ones carry the connection, for acknowledgements.
    fn wrap(&self, m: async_nats::Message) -> Message {
        let msg = Message::new(m);
        if !matches!(self.origin, Origin::Core) {
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
                self.answer_flow_control(reply);
            }
            false
        });
    }

    /// Answers a flow control request. On the runtime (the pump), a full publish buffer
    /// cannot be waited for: the answer then goes straight to async-nats (its order among
    /// the publishes does not matter) rather than being lost, which would stall the consumer.
    fn answer_flow_control(&self, reply: &async_nats::Subject) {
        if let Err(e) = self.conn.publish(reply.as_str(), None, b"") {
            if e.kind == ErrorKind::WouldBlockRuntime {
                let client = self.conn.client.clone();
                let reply = reply.clone();
                tokio::spawn(async move {
                    let _ = client.publish(reply, bytes::Bytes::new()).await;
                });
            }
        }
    }

    /// Sets the pending limits (-1: none; anything below is taken as -1). 0 would drop
    /// everything and is refused.
    pub(crate) fn set_pending_limits(&self, msgs: i64, bytes: i64) -> Result<()> {
        if msgs == 0 || bytes == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a pending limit of 0 would drop everything; use -1 for no limit",
            ));
        }
        self.limit_msgs.store(msgs.max(-1), Ordering::Relaxed);
        self.limit_bytes.store(bytes.max(-1), Ordering::Relaxed);
        Ok(())
    }

    /// The pending limits: (messages, bytes), -1 for none.
    pub(crate) fn pending_limits(&self) -> (i64, i64) {
        (self.limit_msgs.load(Ordering::Relaxed), self.limit_bytes.load(Ordering::Relaxed))
    }

    /// What waits in the pending queue now: (messages, bytes).
    pub(crate) fn pending(&self) -> (i64, i64) {
        let _queued = self.pending.lock();
        (self.pending_msgs.load(Ordering::Relaxed).max(0), self.pending_bytes.load(Ordering::Relaxed).max(0))
    }

    /// The most the pending queue ever held: (messages, bytes).
    pub(crate) fn max_pending(&self) -> (i64, i64) {
        (self.max_pending_msgs.load(Ordering::Relaxed), self.max_pending_bytes.load(Ordering::Relaxed))
    }

    /// Messages dropped by the pending limits.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Messages handed to the callback or taken with `next_msg`.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Still subscribed, or ended with messages left to deliver.
    pub(crate) fn is_valid(&self) -> bool {
        self.active.load(Ordering::Acquire)
            && !(self.ended.load(Ordering::Acquire) && self.pending_msgs.load(Ordering::Relaxed) <= 0)
    }

    /// The user let go of the subscription: unsubscribes it unless that was done already.
    pub(crate) fn release(self: &Arc<Self>) {
        if self.active.load(Ordering::Acquire) {
            let _ = self.unsubscribe();
        }
    }

    /// For the delivery lane: moves up to `max` queued messages into `out` (empty), without
    /// waiting, and the handler into `handler` (`Taken`) or back (see `Pending::take_up_to`).
    pub(crate) fn take_queued(
        &self,
        out: &mut VecDeque<async_nats::Message>,
        max: usize,
        handler: &mut Option<Callback>,
    ) -> Take {
        self.pending.take_up_to(out, max, handler)
    }

    /// For the delivery lane: the handler, to start with (`delivery::start`), to put back
    /// after a run took it out (see `take_queued`) or to release once the lane finished.
    pub(crate) fn replace_handler(&self, handler: Option<Callback>) -> Option<Callback> {
        std::mem::replace(&mut self.pending.lock().handler, handler)
    }

    /// Closes the pending queue (no message is added after this) and tells the delivery lane.
    fn close_pending(self: &Arc<Self>, queued: Queued) {
        self.pending.close(queued);
        lane::notify(self);
    }

    /// False once unsubscribed or freed: no handler call starts after that.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// For the delivery lane: hands `m` to the handler and counts it as delivered.
    pub(crate) fn hand_over(self: &Arc<Self>, m: async_nats::Message, cb: &mut dyn MessageHandler) {
        let len = m.payload.len();
        cb.on_message(self, self.wrap(m));
        self.taken(len);
    }

    /// For the delivery lane: its state.
    pub(crate) fn lane_flag(&self) -> &std::sync::atomic::AtomicU8 {
        &self.lane_state
    }

    /// For the delivery lane: where it is queued.
    pub(crate) fn lane_scheduler(&self) -> Option<&Arc<Scheduler>> {
        self.scheduler.as_ref()
    }

    /// For the delivery lane: it has made its last handler call.
    pub(crate) fn delivery_finished(&self) {
        self.pending.finish();
    }

    /// The subject subscribed to, followed by a NUL (JetStream: the consumer's deliver
    /// subject; empty for a pull consumer's consume).
    pub(crate) fn subject_nul(&self) -> &[u8] {
        self.names.subject()
    }

    /// The queue group, followed by a NUL; `None` without one.
    pub(crate) fn queue_nul(&self) -> Option<&[u8]> {
        self.names.queue()
    }

    /// The subject subscribed to (as `subject_nul`, without the NUL).
    fn subject(&self) -> &str {
        without_nul(self.subject_nul())
    }

    /// The queue group (as `queue_nul`, without the NUL).
    fn queue(&self) -> Option<&str> {
        self.queue_nul().map(without_nul)
    }

    /// How its messages reach the user: a callback subscription's lane is set up before the
    /// caller gets the subscription (no field of its own: it took a 256-byte allocation class
    /// into the next).
    fn delivery(&self) -> Delivery {
        if self.scheduler.is_some() {
            Delivery::Callback
        } else {
            Delivery::Synchronous
        }
    }

    /// How this subscription reaches its source, once set up.
    fn upstream(&self) -> Option<Upstream<'_>> {
        match &self.origin {
            Origin::JetStream(js) => Some(Upstream::Pumped(&js.control)),
            Origin::Core => match self.core_sid.load(Ordering::Acquire) {
                0 => None,
                sid => Some(Upstream::Core(sid)),
            },
        }
    }

    /// The protocol's subscription id (as in the server's connection details); 0 for
    /// JetStream subscriptions, whose id async-nats keeps to itself.
    pub(crate) fn id(&self) -> u64 {
        match self.upstream() {
            Some(Upstream::Core(sid)) => sid,
            _ => 0,
        }
    }

    /// Forgets the highest pending counts seen so far (`max_pending` starts again from now).
    pub(crate) fn clear_max_pending(&self) {
        self.max_pending_msgs.store(0, Ordering::Relaxed);
        self.max_pending_bytes.store(0, Ordering::Relaxed);
    }

    /// The connection this subscription belongs to.
    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.conn
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

/// A core subscription takes its messages from async-nats' connection task itself (async-nats
/// patches 6 and 17: no handler of its own), a run of them at a time, so that the queue's lock
/// is taken once per run, not per message. async-nats lets go of it when the subscription
/// ends (unsubscribed, drained, its maximum reached, the connection closed): then it delivers
/// what is queued and ends.
impl async_nats::SubscriptionHandler for Subscription {
    fn subject(&self) -> &str {
        Subscription::subject(self)
    }

    fn queue_group(&self) -> Option<&str> {
        self.queue()
    }

    fn on_messages(self: Arc<Self>, messages: &mut Vec<async_nats::Message>) -> bool {
        if !self.is_active() || self.ended.load(Ordering::Acquire) {
            return false;
        }
        // This runs on async-nats' connection task: a panic here must not take it down.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.enqueue(messages))) {
            Ok(max_reached) => !max_reached,
            Err(payload) => {
                let text = format!(
                    "subscription stopped by an internal error: {}",
                    crate::client::error::panic_text(payload.as_ref())
                );
                self.conn.send_event(error_event(Some(self.clone()), ErrorKind::Panic, text));
                self.source_ended();
                false
            }
        }
    }

    fn ended(self: Arc<Self>) {
        self.conn.core_subs.remove(&self);
        self.source_ended();
    }
}

/// A connection's live core subscriptions, ended together when the connection closes
/// (async-nats drops their handlers only once its connection task exits, which a close
/// while reconnecting does not wait for); a subscription's `ended` removes it. A list
/// in which each subscription knows its place (`Subscription::registry_slot`, changed only
/// under this lock): 8 bytes an entry, where a map by address took 17 at its load factor.
#[derive(Default)]
pub(crate) struct CoreSubscriptions {
    live: Mutex<Vec<Arc<Subscription>>>,
}

/// `Subscription::registry_slot` of a subscription not in the registry.
const NO_SLOT: u32 = u32::MAX;

impl CoreSubscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Subscription>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, sub: &Arc<Subscription>) {
        let mut live = self.lock();
        // More than u32::MAX - 1 subscriptions cannot be: each costs hundreds of bytes.
        let slot = u32::try_from(live.len()).unwrap_or(NO_SLOT);
        sub.registry_slot.store(slot, Ordering::Relaxed);
        live.push(sub.clone());
    }

    fn remove(&self, sub: &Arc<Subscription>) {
        let mut live = self.lock();
        let slot = sub.registry_slot.swap(NO_SLOT, Ordering::Relaxed) as usize;
        let listed_here = live.get(slot).is_some_and(|listed| Arc::ptr_eq(listed, sub));
        debug_assert!(listed_here || slot == NO_SLOT as usize, "a subscription's registry slot names another");
        // A wrong slot would be a bug here; looking the subscription up keeps it from
        // staying listed (and alive) until the connection closes.
        let slot = match (listed_here, slot == NO_SLOT as usize) {
            (true, _) => slot,
            (false, true) => return,
            (false, false) => match live.iter().position(|listed| Arc::ptr_eq(listed, sub)) {
                Some(found) => found,
                None => return,
            },
        };
        let removed = live.swap_remove(slot);
        if let Some(moved) = live.get(slot) {
            moved.registry_slot.store(slot as u32, Ordering::Relaxed);
        }
        drop(live);
        // Dropped outside the lock: it may be the last reference.
        drop(removed);
    }

    /// The connection closed: every core subscription delivers what it has queued and ends.
    pub(crate) fn end_all(&self) {
        let live = std::mem::take(&mut *self.lock());
        for sub in &live {
            sub.registry_slot.store(NO_SLOT, Ordering::Relaxed);
            sub.source_ended();
        }
    }
}

/// How many messages a pump moves into the pending queue at once.
const BATCH: usize = 256;

/// One item from a feed: a message, or (streams) an error for the error callback.
type Item = std::result::Result<async_nats::Message, String>;

/// Whether the pump goes on after a drain was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterDrain {
    /// The server sends what it had routed, then ends the feed.
    ReadToEnd,
    /// The feed ends now (a JetStream consumer redelivers what was not acknowledged).
    Stop,
}

/// What a pump reads: a core subscriber, or a stream of messages produced by async-nats
/// (JetStream ordered and pull consumers).
trait Feed: Send {
    /// The next item; `None` once the feed ended.
    fn next(&mut self) -> impl std::future::Future<Output = Option<Item>> + Send;

    /// An item already there, without waiting.
    fn ready(&mut self) -> Option<Item>;

    /// Asks the server to stop after `max` messages in all; whether that was sent.
    fn unsubscribe_after(&mut self, max: u64) -> impl std::future::Future<Output = bool> + Send;

    fn unsubscribe(&mut self) -> impl std::future::Future<Output = ()> + Send;

    fn drain(&mut self, sub: &Subscription) -> impl std::future::Future<Output = AfterDrain> + Send;
}

impl Feed for async_nats::Subscriber {
    async fn next(&mut self) -> Option<Item> {
        StreamExt::next(self).await.map(Ok)
    }

    fn ready(&mut self) -> Option<Item> {
        // `unconstrained`: tokio's cooperative budget would otherwise report an empty
        // channel after ~128 receives in one poll, and the rest would be left behind.
        tokio::task::unconstrained(StreamExt::next(self)).now_or_never().flatten().map(Ok)
    }

    async fn unsubscribe_after(&mut self, max: u64) -> bool {
        async_nats::Subscriber::unsubscribe_after(self, max).await.is_ok()
    }

    async fn unsubscribe(&mut self) {
        let _ = async_nats::Subscriber::unsubscribe(self).await;
    }

    async fn drain(&mut self, sub: &Subscription) -> AfterDrain {
        // See `Connection::shutdown`: a round trip first, so that nothing the server already
        // routed to us is lost when async-nats drops the subscription right after the UNSUB.
        let _ = probe(&sub.conn.client, &sub.conn.outbox).await;
        let _ = async_nats::Subscriber::drain(self).await;
        AfterDrain::ReadToEnd
    }
}

/// A stream source, fused: a stream that ended (an ordered consumer gives up after an error)
/// is never polled again; async-nats' streams panic when resumed after completion.
impl Feed for futures_util::stream::Fuse<MsgStream> {
    async fn next(&mut self) -> Option<Item> {
        StreamExt::next(self).await
    }

    fn ready(&mut self) -> Option<Item> {
        tokio::task::unconstrained(StreamExt::next(self)).now_or_never().flatten()
    }

    /// Nothing to tell the server: the pump stops at the count.
    async fn unsubscribe_after(&mut self, _max: u64) -> bool {
        true
    }

    /// Nothing to tell the server: dropping the stream ends the consumer's pulls.
    async fn unsubscribe(&mut self) {}

    async fn drain(&mut self, _sub: &Subscription) -> AfterDrain {
        AfterDrain::Stop
    }
}

/// Moves messages from a feed into the pending queue, in batches, until unsubscribed, the
/// connection closes or the feed ends (auto-unsubscribe count, drain). Errors of a stream go
/// to the error callback.
async fn pump(mut feed: impl Feed, sub: Arc<Subscription>, mut control: mpsc::UnboundedReceiver<Control>) {
    let mut closed = sub.conn.closed.subscribe();
    let mut batch = Vec::with_capacity(BATCH);
    let mut controls_open = true;
    loop {
        tokio::select! {
            biased;
            c = control.recv(), if controls_open => match c {
                Some(Control::AutoUnsubscribe(max, ack)) => {
                    sub.max.store(max, Ordering::Relaxed);
                    if sub.received.load(Ordering::Relaxed) >= max {
                        feed.unsubscribe().await;
                        let _ = ack.send(true);
                        break;
                    }
                    let _ = ack.send(feed.unsubscribe_after(max).await);
                }
                Some(Control::Drain(ack)) => {
                    if feed.drain(&sub).await == AfterDrain::Stop {
                        take_ready(&mut feed, &sub, &mut batch, usize::MAX);
                        sub.enqueue(&mut batch);
                        let _ = ack.send(());
                        break;
                    }
                    let _ = ack.send(());
                }
                Some(Control::Unsubscribe(ack)) => {
                    feed.unsubscribe().await;
                    let _ = ack.send(());
                    break;
                }
                None => controls_open = false,
            },
            _ = wait_closed(&mut closed) => {
                // Deliver what already arrived (a connection drain lets it all arrive first).
                take_ready(&mut feed, &sub, &mut batch, usize::MAX);
                sub.enqueue(&mut batch);
                break;
            }
            item = feed.next() => match item {
                Some(item) => {
                    take(&sub, &mut batch, item);
                    take_ready(&mut feed, &sub, &mut batch, BATCH);
                    if sub.enqueue(&mut batch) {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    drop(feed);
    sub.ended.store(true, Ordering::Release);
    // Deliver what is already queued (unless unsubscribed, which discarded it), then stop.
    sub.close_pending(Queued::Deliver);
}

/// Adds an item to the batch; a stream's error goes to the error callback.
fn take(sub: &Arc<Subscription>, batch: &mut Vec<async_nats::Message>, item: Item) {
    match item {
        Ok(m) => batch.push(m),
        Err(text) => sub.conn.send_event(error_event(Some(sub.clone()), ErrorKind::JetStream, text)),
    }
}

/// Adds the items already there, until the batch holds `limit`.
fn take_ready(feed: &mut impl Feed, sub: &Arc<Subscription>, batch: &mut Vec<async_nats::Message>, limit: usize) {
    while batch.len() < limit {
        match feed.ready() {
            Some(item) => take(sub, batch, item),
            None => break,
        }
    }
}

/// Runs a subscription's pump; should it panic (a bug), the subscription ends and the
/// connection's error callback gets `NATS_ERR_PANIC` with the detail, instead of the task
/// dying silently on a runtime thread.
async fn reporting_panics(sub: Arc<Subscription>, pump: impl std::future::Future<Output = ()>) {
    if let Err(payload) = std::panic::AssertUnwindSafe(pump).catch_unwind().await {
        let text = format!(
            "subscription stopped by an internal error: {}",
            crate::client::error::panic_text(payload.as_ref())
        );
        sub.ended.store(true, Ordering::Release);
        sub.close_pending(Queued::Deliver);
        sub.conn.send_event(error_event(Some(sub.clone()), ErrorKind::Panic, text));
    }
}
#[cfg(test)]
mod size {
    /// A subscription, with its Arc counts and malloc's header, fits a 240-byte chunk: with
    /// 10 000 pooled subscriptions every byte counts (bench: memory per subscription). (320
    /// while it held the lane's batch, now one per delivery thread; 288 while it held its
    /// pump's control channel, now in a JetStream subscription's origin; 256 while its handler
    /// had a lock of its own, now in the pending queue's state, and its scheduler was set
    /// after it was made, in a `OnceLock`.)
    #[test]
    fn subscription_fits_its_allocation_class() {
        assert!(std::mem::size_of::<super::Subscription>() <= 216, "{}", std::mem::size_of::<super::Subscription>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names read back as given, short (inline) and long (on the heap), on both sides of the
    /// inline size, with and without a queue group.
    #[test]
    fn names_read_back_as_given() {
        for subject_len in [0, 1, 9, 20, 21, 22, 23, 40] {
            let subject = "s".repeat(subject_len);
            for queue in [None, Some("q".to_string()), Some("q".repeat(12)), Some("q".repeat(30))] {
                let names = Names::new(&subject, queue.as_deref());
                assert_eq!(without_nul(names.subject()), subject);
                assert_eq!(names.subject().last(), Some(&0));
                assert_eq!(names.queue().map(without_nul), queue.as_deref());
                assert!(names.queue().is_none_or(|q| q.last() == Some(&0)));
                let len = subject_len + 1 + queue.as_ref().map_or(0, |q| q.len() + 1);
                assert_eq!(matches!(names, Names::Inline { .. }), len <= INLINE_NAMES, "{subject:?} {queue:?}");
            }
        }
    }
}
