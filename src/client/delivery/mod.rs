//! Where callbacks run. Every source of callbacks (a callback subscription, a connection's
//! events, its async request replies, a JetStream context's publish acknowledgements, a KV
//! watch) is a lane ([`lane::Queueable`]): its callbacks run one at a time, in order, never on a runtime
//! thread (so they may call anything, including blocking functions). A connection's
//! [`Executor`] says which threads run its lanes:
//! - [`Executor::Threads`] (the default): a thread of its own per lane;
//! - [`Executor::Pool`]: the library-wide pool of delivery threads;
//! - [`Executor::Dispatcher`]: the application's thread, inside `Dispatcher::dispatch`.
//!
//! A connection counts its subscriptions' lanes still delivering, so that a drain can wait
//! for the last handler call.

pub(crate) mod dispatcher;
pub(crate) mod jobs;
pub(crate) mod lane;

use crate::client::connection::Connection;
use crate::client::error::*;
use crate::client::message::Message;
use crate::client::subscription::{Subscription, Take};
use dispatcher::Dispatcher;
use lane::{Lane, Progress, Queueable, Scheduler, Work};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a callback subscription does with each message.
pub(crate) trait MessageHandler: Send + 'static {
    /// The subscription exists and its lane is set up: from here on the handler owns what it
    /// holds (until then, a failed subscribe leaves that to the caller). It may come back as
    /// another handler: one that releases what it holds when dropped.
    fn accepted(self: Box<Self>) -> Callback;

    /// One message, in the order received; the next waits until this returns.
    fn on_message(&mut self, sub: &Arc<Subscription>, msg: Message);
}

/// The handler of a callback subscription.
pub(crate) type Callback = Box<dyn MessageHandler>;

/// Which threads run a connection's callbacks.
#[derive(Clone, Default)]
pub(crate) enum Executor {
    /// A dedicated thread per subscription, watch, reply, ack and event lane.
    #[default]
    Threads,
    /// The library-wide delivery pool.
    Pool,
    /// The pool's scheduler, as a connection resolved [`Executor::Pool`] when it was made
    /// (see [`Executor::resolve`]).
    Pooled(Arc<Scheduler>),
    /// The application's thread, in [`Dispatcher::dispatch`].
    Dispatcher(Arc<Dispatcher>),
}

/// Callbacks a dedicated thread runs before it looks at its queue again.
const THREAD_BUDGET: usize = 1024;
/// Callbacks a pool thread runs for one lane before the next lane's turn.
const POOL_BUDGET: usize = 64;
/// Callbacks one lane runs in one dispatch call (`nats_dispatcher_dispatch` documents it).
pub(crate) const DISPATCH_TURN: usize = 1024;

impl Executor {
    /// Sets up a lane for `work` (a dedicated thread called `name`, the pool or the
    /// dispatcher).
    pub(crate) fn lane(&self, name: &str, work: Arc<dyn Work>) -> Result<Lane> {
        Ok(Lane::new(self.scheduler(name)?, work))
    }

    /// The scheduler one new lane goes to: for dedicated threads, a new one served by a
    /// thread called `name` until that lane finished.
    pub(crate) fn scheduler(&self, name: &str) -> Result<Arc<Scheduler>> {
        match self {
            Executor::Threads => {
                let scheduler = Scheduler::new();
                let served = scheduler.clone();
                spawn_counted(name, move || served.serve(THREAD_BUDGET, true))
                    .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start a delivery thread: {e}")))?;
                Ok(scheduler)
            }
            Executor::Pool => pool(),
            Executor::Pooled(scheduler) => Ok(scheduler.clone()),
            Executor::Dispatcher(d) => Ok(d.scheduler.clone()),
        }
    }

    /// The executor a new connection keeps: the pool is looked up (and started) once here,
    /// not at each lane it sets up. Finding the pool checks the process id (a forked child
    /// starts its own), a system call per subscribe; a connection is only used in the
    /// process that made it.
    pub(crate) fn resolve(&self) -> Result<Executor> {
        match self {
            Executor::Pool => Ok(Executor::Pooled(pool()?)),
            other => Ok(other.clone()),
        }
    }

    /// Waits until `done(slice)` (which waits at most `slice`) says so, at most `limit`. On
    /// the thread that dispatches this executor's dispatcher, the callbacks waited for can
    /// only run here: it dispatches between short waits.
    pub(crate) fn wait_for(&self, limit: Duration, mut done: impl FnMut(Duration) -> bool) -> bool {
        let Executor::Dispatcher(d) = self else { return done(limit) };
        if !d.is_dispatching_thread() {
            return done(limit);
        }
        let deadline = crate::client::runtime::deadline_after(limit);
        loop {
            d.scheduler.run_queued(usize::MAX, DISPATCH_TURN);
            let left = deadline.saturating_duration_since(Instant::now());
            if done(left.min(Duration::from_millis(5))) {
                return true;
            }
            if left.is_zero() {
                return false;
            }
        }
    }
}

/// The shared pool, per process (a forked child starts its own): its scheduler and threads.
struct Pool {
    pid: u32,
    scheduler: Arc<Scheduler>,
    threads: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// The pool's size (threads), settable until and after it starts (it only grows).
static POOL_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_POOL_SIZE);
pub(crate) const DEFAULT_POOL_SIZE: usize = 4;
pub(crate) const MAX_POOL_SIZE: usize = 1024;

/// Sets the size of the shared delivery pool; it never shrinks (a smaller size than the
/// current one changes nothing). Threads start on first use.
pub(crate) fn set_pool_size(threads: usize) -> Result<()> {
    if threads == 0 || threads > MAX_POOL_SIZE {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the delivery pool needs 1 to {MAX_POOL_SIZE} threads, not {threads}"),
        ));
    }
    POOL_SIZE.fetch_max(threads, Ordering::AcqRel);
    let started = POOL.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|p| p.pid == std::process::id());
    if started {
        pool()?;
    }
    Ok(())
}

/// The pool's scheduler, with as many threads as its size asks (started here).
fn pool() -> Result<Arc<Scheduler>> {
    let mut slot = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if slot.as_ref().is_none_or(|p| p.pid != pid) {
        *slot = Some(Pool { pid, scheduler: Scheduler::new(), threads: 0 });
    }
    let pool = slot.as_mut().expect("set above");
    while pool.threads < POOL_SIZE.load(Ordering::Acquire) {
        let scheduler = pool.scheduler.clone();
        let spawned = spawn_counted("nats-ffi-pool", move || scheduler.serve(POOL_BUDGET, false));
        match spawned {
            Ok(_) => pool.threads += 1,
            Err(e) if pool.threads == 0 => {
                return Err(Error::new(ErrorKind::Internal, format!("cannot start a delivery pool thread: {e}")))
            }
            Err(_) => break,
        }
    }
    Ok(pool.scheduler.clone())
}

/// Stops the shared pool (for `nats_ffi_shutdown`): lanes still queued on it are abandoned
/// (their `user_data_free` runs, their callbacks do not), its threads end; the next use starts
/// a new pool.
pub(crate) fn stop_pool() {
    let pool = POOL.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(pool) = pool.filter(|p| p.pid == std::process::id()) {
        pool.scheduler.abandon();
    }
}

/// The library's delivery threads (dedicated and pool) alive now, and a signal when one
/// ends: `nats_ffi_shutdown` waits for them.
static THREADS: Mutex<usize> = Mutex::new(0);
static THREAD_ENDED: Condvar = Condvar::new();
/// Their join handles, so that shutdown can wait until they are gone, not only done (a thread
/// still exiting must not outlive an unloaded library). Finished ones are dropped when the
/// list has grown to twice the threads alive (amortized: no scan per spawn).
static HANDLES: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

thread_local! {
    /// True on the library's delivery threads (where `nats_ffi_shutdown` would wait on
    /// itself).
    static DELIVERY_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Starts a delivery thread called `name`, counted while it runs.
fn spawn_counted(name: &str, body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    /// Uncounts the thread when it ends, also by unwinding.
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            *THREADS.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
            THREAD_ENDED.notify_all();
        }
    }
    *THREADS.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let _counted = Counted;
        DELIVERY_THREAD.with(|d| d.set(true));
        body();
    });
    match spawned {
        Ok(handle) => {
            let alive = *THREADS.lock().unwrap_or_else(|p| p.into_inner());
            let mut handles = HANDLES.lock().unwrap_or_else(|p| p.into_inner());
            if handles.len() >= 2 * alive.max(16) {
                handles.retain(|h| !h.is_finished());
            }
            handles.push(handle);
            Ok(())
        }
        Err(e) => {
            *THREADS.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
            Err(e)
        }
    }
}

/// Joins the delivery threads that have left their work (all of them when none is counted
/// any more): when this returns, they no longer exist.
pub(crate) fn join_ended_threads() {
    let all_done = *THREADS.lock().unwrap_or_else(|p| p.into_inner()) == 0;
    let handles = std::mem::take(&mut *HANDLES.lock().unwrap_or_else(|p| p.into_inner()));
    let (ended, running): (Vec<_>, Vec<_>) = handles.into_iter().partition(|h| all_done || h.is_finished());
    HANDLES.lock().unwrap_or_else(|p| p.into_inner()).extend(running);
    for handle in ended {
        let _ = handle.join();
    }
}

/// Waits until at most `keep` delivery threads are alive, at most `limit`; how many are.
pub(crate) fn wait_for_threads(keep: usize, limit: Duration) -> usize {
    let threads = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let (threads, _) =
        THREAD_ENDED.wait_timeout_while(threads, limit, |n| *n > keep).unwrap_or_else(|p| p.into_inner());
    *threads
}

/// The shared pool's thread count (0 when it is not running in this process).
pub(crate) fn pool_threads() -> usize {
    let pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    pool.as_ref().filter(|p| p.pid == std::process::id()).map_or(0, |p| p.threads)
}

/// True on one of the library's delivery threads.
pub(crate) fn on_delivery_thread() -> bool {
    DELIVERY_THREAD.with(Cell::get)
}

thread_local! {
    /// While a subscription's handler runs: the connection and subscription it delivers for.
    static DELIVERING: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// True inside a handler call of one of `conn`'s subscriptions.
pub(crate) fn delivering_for(conn: &Connection) -> bool {
    DELIVERING.with(|d| d.get().0 == std::ptr::from_ref(conn).addr())
}

pub(crate) fn delivering_sub(sub: &Subscription) -> bool {
    DELIVERING.with(|d| d.get().1 == std::ptr::from_ref(sub).addr())
}

/// Marks the calling thread, in a thread-local, as running the handlers of one thing (a
/// subscription, a watch, a JetStream context's acks) until dropped, then restores the
/// previous mark: pool and dispatcher threads run many lanes one after the other, and a
/// blocking call made from a handler checks the mark to avoid waiting on itself.
pub(crate) struct Marker<T: Copy + 'static> {
    key: &'static std::thread::LocalKey<Cell<T>>,
    outer: T,
}

impl<T: Copy + 'static> Marker<T> {
    pub(crate) fn set(key: &'static std::thread::LocalKey<Cell<T>>, value: T) -> Marker<T> {
        Marker { key, outer: key.with(|k| k.replace(value)) }
    }
}

impl<T: Copy + 'static> Drop for Marker<T> {
    fn drop(&mut self) {
        self.key.with(|k| k.set(self.outer));
    }
}

thread_local! {
    /// The messages a lane running on this thread took from its subscription's pending queue
    /// and has not handed over yet: one buffer per delivery thread rather than one in each
    /// subscription (32 bytes each, which took a pooled subscription into the next malloc
    /// class). A lane takes no more than its budget, so nothing is left in it between runs;
    /// a lane run inside a callback of another (a dispatcher dispatching from a callback)
    /// finds it taken and uses a fresh one.
    static BATCH: Cell<VecDeque<async_nats::Message>> = const { Cell::new(VecDeque::new()) };
}

/// A callback subscription is its own lane: it hands its queued messages to the handler, in
/// order.
impl Queueable for Subscription {
    fn lane_state(&self) -> &std::sync::atomic::AtomicU8 {
        self.lane_flag()
    }

    fn scheduler(&self) -> Option<&Arc<Scheduler>> {
        self.lane_scheduler()
    }

    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress) {
        let mut batch = BATCH.with(Cell::take);
        let (ran, progress) = self.deliver(&mut batch, budget);
        // Left only when the subscription stopped being active: those are dropped.
        batch.clear();
        BATCH.with(|b| b.set(batch));
        if progress == Progress::Finished {
            finish_delivery(&self);
        }
        (ran, progress)
    }

    fn end(&self, abandoned: bool) {
        if abandoned {
            finish_delivery(self);
        }
    }
}

impl Subscription {
    /// Hands at most `budget` queued messages to the handler, through `batch`.
    fn deliver(self: &Arc<Self>, batch: &mut VecDeque<async_nats::Message>, budget: usize) -> (usize, Progress) {
        let _marker = Marker::set(&DELIVERING, (Arc::as_ptr(self.connection()).addr(), Arc::as_ptr(self).addr()));
        // The handler, out of the pending queue's state while this run calls it.
        let mut handler = None;
        let mut ran = 0;
        let progress = loop {
            if batch.is_empty() {
                // Within the budget: with `budget - ran` at 0 nothing is moved, and `Taken`
                // says more waits. `Empty` and `Closed` put the handler back.
                match self.take_queued(batch, budget - ran, &mut handler) {
                    Take::Taken => {}
                    Take::Empty => return (ran, Progress::Idle),
                    Take::Closed => break Progress::Finished,
                }
            }
            if !self.is_active() {
                break Progress::Finished;
            }
            if ran == budget {
                break Progress::More;
            }
            // None: the lane finished already (or never started: a failed subscribe).
            let Some(cb) = handler.as_mut() else { break Progress::Finished };
            let m = batch.pop_front().expect("not empty");
            self.hand_over(m, cb.as_mut());
            ran += 1;
        };
        if handler.is_some() {
            self.replace_handler(handler);
        }
        (ran, progress)
    }
}

/// The last step of a subscription's lane: no more handler calls; releases the handler.
fn finish_delivery(sub: &Subscription) {
    sub.delivery_finished();
    let cb = sub.replace_handler(None);
    if cb.is_some() {
        drop(cb);
        sub.connection().deliveries.finished();
    }
}

/// The scheduler a new callback subscription of `conn` is to be queued on (with dedicated
/// threads, a new one with its thread, which ends with the subscription's lane).
pub(crate) fn scheduler(conn: &Connection) -> Result<Arc<Scheduler>> {
    conn.executor.scheduler("nats-ffi-sub")
}

/// Hands `cb` to `sub`, made with a scheduler (see [`scheduler`]): from here the
/// subscription owns the handler. Before anything can be queued for the caller's callbacks
/// (see [`Subscription::start_callbacks`]), so that no run of the lane finds the
/// subscription without it.
pub(crate) fn start(sub: &Arc<Subscription>, cb: Callback) {
    sub.connection().deliveries.started();
    sub.replace_handler(Some(cb.accepted()));
}

/// Counts the subscription lanes of a connection still delivering, so that a drain can wait
/// for the last handler call.
#[derive(Default)]
pub(crate) struct Deliveries {
    running: Mutex<usize>,
    idle: Condvar,
}

impl Deliveries {
    pub fn started(&self) {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }
    pub fn finished(&self) {
        let mut n = self.running.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.idle.notify_all();
        }
    }
    /// Waits until no subscription lane delivers; false if `limit` passed first.
    pub(crate) fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = crate::client::runtime::deadline_after(limit);
        let mut n = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            n = self.idle.wait_timeout(n, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }
}
