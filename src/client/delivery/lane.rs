//! Lanes: each source of callbacks (a subscription, a connection's events, its async request
//! replies, a JetStream context's publish acks, a KV watch) is a lane of [`Work`] that runs
//! serially, in order, on one [`Scheduler`] at a time. A scheduler is a queue of lanes with
//! work waiting, served by a dedicated thread, by the shared pool's threads or by the
//! application's thread in `Dispatcher::dispatch`.
//!
//! A lane is queued at most once: `notify` moves it from idle to queued (and pushes it), or
//! from running to "again" (its worker queues it once more when the current run ends), so no
//! two threads ever run one lane's work at the same time and nothing notified is missed.

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a lane's work has left after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing waits now; a `notify` brings it back.
    Idle,
    /// More waits: run again (after other lanes had their turn).
    More,
    /// Done for good: the lane lets go of its work.
    Finished,
}

/// A source of callbacks, run serially by a [`Lane`] that holds it until it finished.
pub(crate) trait Work: Send + Sync + 'static {
    /// Runs at most `budget` callbacks on the calling thread: how many ran, and what is left.
    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress);

    /// Nothing will run this work any more (its dispatcher was freed): end it without
    /// callbacks, releasing what it holds.
    fn abandon(&self);
}

/// What a scheduler queues and runs: a lane, its work and its state in one. A
/// [`Lane`] holds a [`Work`] for it; a subscription is one itself (no allocation of its own
/// per subscription, which counts with 10 000 of them). Its queued copies keep it alive
/// until it finished.
pub(crate) trait Queueable: Send + Sync + 'static {
    /// Idle, queued, running, queued again or finished (`notify` and the scheduler move it).
    fn lane_state(&self) -> &AtomicU8;

    /// Where it is queued; `None` until set (then it is never notified).
    fn scheduler(&self) -> Option<&Arc<Scheduler>>;

    /// Runs at most `budget` callbacks on the calling thread: how many ran, and what is left.
    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress);

    /// It finished (`abandoned`: nothing will run it any more, its dispatcher was freed):
    /// called once, to release what it holds.
    fn end(&self, abandoned: bool);
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
/// Running, and notified since the run began: queue it again when the run ends.
const AGAIN: u8 = 3;
const FINISHED: u8 = 4;

/// A lane's state when it starts: idle.
pub(crate) fn idle() -> AtomicU8 {
    AtomicU8::new(IDLE)
}

/// Work waits in `lane`: queues it unless it is queued or running already (a running lane
/// is queued again when its run ends).
pub(crate) fn notify<Q: Queueable>(lane: &Arc<Q>) {
    let Some(scheduler) = lane.scheduler() else { return };
    let state = lane.lane_state();
    let mut now = state.load(Ordering::Acquire);
    loop {
        let next = match now {
            IDLE => QUEUED,
            RUNNING => AGAIN,
            _ => return,
        };
        match state.compare_exchange_weak(now, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) if next == QUEUED => return scheduler.push(lane.clone()),
            Ok(_) => return,
            Err(actual) => now = actual,
        }
    }
}

/// A lane holding a [`Work`] until it finished (connection events, job queues).
struct LaneState {
    state: AtomicU8,
    work: Mutex<Option<Arc<dyn Work>>>,
    scheduler: Arc<Scheduler>,
}

impl Queueable for LaneState {
    fn lane_state(&self) -> &AtomicU8 {
        &self.state
    }

    fn scheduler(&self) -> Option<&Arc<Scheduler>> {
        Some(&self.scheduler)
    }

    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress) {
        let work = self.work.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match work {
            Some(work) => work.run(budget),
            None => (0, Progress::Finished),
        }
    }

    fn end(&self, abandoned: bool) {
        let work = self.work.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Some(work), true) = (&work, abandoned) {
            work.abandon();
        }
    }
}

/// A handle on a lane holding a [`Work`]: tells its scheduler when work waits.
#[derive(Clone)]
pub(crate) struct Lane(Arc<LaneState>);

impl Lane {
    pub(crate) fn new(scheduler: Arc<Scheduler>, work: Arc<dyn Work>) -> Lane {
        Lane(Arc::new(LaneState { state: idle(), work: Mutex::new(Some(work)), scheduler }))
    }

    /// Work waits: queue the lane unless it is queued or running already.
    pub(crate) fn notify(&self) {
        notify(&self.0);
    }
}

/// Runs a queued lane once, at most `budget` callbacks; how many ran, and whether the lane
/// finished.
fn run_lane(lane: Arc<dyn Queueable>, budget: usize) -> (usize, bool) {
    let state = lane.lane_state();
    state.store(RUNNING, Ordering::Release);
    let (ran, progress) = lane.clone().run(budget);
    match progress {
        Progress::Finished => {
            state.store(FINISHED, Ordering::Release);
            lane.end(false);
            return (ran, true);
        }
        Progress::More => state.store(QUEUED, Ordering::Release),
        Progress::Idle => {
            if state.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return (ran, false);
            }
            // Notified while running: go again.
            state.store(QUEUED, Ordering::Release);
        }
    }
    match lane.scheduler().cloned() {
        Some(scheduler) => scheduler.push(lane),
        None => abandon_lane(&*lane),
    }
    (ran, false)
}

/// Ends a lane nobody will run: its work is abandoned and let go.
fn abandon_lane(lane: &dyn Queueable) {
    lane.lane_state().store(FINISHED, Ordering::Release);
    lane.end(true);
}

/// A queue of lanes with work waiting, and (for a dispatcher) a socket that is readable
/// exactly while the queue is not empty.
pub(crate) struct Scheduler {
    queue: Mutex<Queue>,
    ready: Condvar,
    signal: Option<Signal>,
}

#[derive(Default)]
struct Queue {
    lanes: VecDeque<Arc<dyn Queueable>>,
    /// The signal holds its byte.
    signaled: bool,
    /// Nobody will run lanes any more (a freed dispatcher): they are not queued.
    abandoned: bool,
    /// Threads waiting on `ready`, and how many of them were woken and have not taken the
    /// lock back yet. A push wakes a waiting thread only when none is on its way already; a
    /// woken thread that leaves lanes behind wakes the next (so threads join in one by one
    /// while work keeps coming, instead of all of them for each burst). A futex condvar's
    /// `notify_one` is a system call even with nobody waiting, and each wake-up a context
    /// switch on both sides: with one message per lane (many subscriptions), one of each per
    /// message cost a fifth of the pool's delivery rate.
    waiting: usize,
    woken: usize,
}

impl Queue {
    /// Whether to wake a waiting thread now; counts it as woken.
    fn claim_waiter(&mut self) -> bool {
        let wake = self.waiting > 0 && self.woken == 0;
        if wake {
            self.woken += 1;
        }
        wake
    }
}

/// A socket pair: one byte sits in it while lanes wait, so its reading end polls readable
/// (level-triggered) exactly then.
struct Signal {
    read: UnixStream,
    write: UnixStream,
}

impl Signal {
    fn new() -> std::io::Result<Signal> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Signal { read, write })
    }

    fn raise(&self) {
        use std::io::Write;
        let _ = (&self.write).write(&[1]);
    }

    fn lower(&self) {
        use std::io::Read;
        // Empties it (even if the application read from it itself).
        let mut buf = [0u8; 16];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
    }
}

impl Scheduler {
    /// A scheduler whose lanes are run by threads waiting in [`Scheduler::next`].
    pub(crate) fn new() -> Arc<Scheduler> {
        Arc::new(Scheduler { queue: Mutex::default(), ready: Condvar::new(), signal: None })
    }

    /// A scheduler with a readable-while-waiting socket, for a dispatcher.
    pub(crate) fn with_signal() -> std::io::Result<Arc<Scheduler>> {
        Ok(Arc::new(Scheduler { queue: Mutex::default(), ready: Condvar::new(), signal: Some(Signal::new()?) }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, lane: Arc<dyn Queueable>) {
        let mut q = self.lock();
        if q.abandoned {
            drop(q);
            abandon_lane(&*lane);
            return;
        }
        q.lanes.push_back(lane);
        if let Some(signal) = &self.signal {
            if !q.signaled {
                signal.raise();
                q.signaled = true;
            }
        }
        self.wake_waiter(q, true);
    }

    /// Unlocks the queue and, when `work_waits`, wakes a waiting thread unless one is on its
    /// way already (see [`Queue::woken`]).
    fn wake_waiter(&self, mut q: std::sync::MutexGuard<'_, Queue>, work_waits: bool) {
        let wake = work_waits && q.claim_waiter();
        drop(q);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Waits on `ready` for at most `limit`, counted in `waiting` (see [`Queue::woken`]).
    fn wait_ready<'a>(
        &self,
        mut q: std::sync::MutexGuard<'a, Queue>,
        limit: Duration,
    ) -> std::sync::MutexGuard<'a, Queue> {
        q.waiting += 1;
        q = self.ready.wait_timeout(q, limit).unwrap_or_else(|p| p.into_inner()).0;
        q.waiting -= 1;
        // Woken by a push, or on its own (a timeout, spuriously): either way it looks at the
        // queue now, so one claimed wake-up is spent.
        q.woken = q.woken.saturating_sub(1);
        q
    }

    /// The next queued lane; waits until `deadline` for one (`None`: do not wait). `None`
    /// also once the scheduler was abandoned.
    fn pop(&self, deadline: Option<Instant>) -> Option<Arc<dyn Queueable>> {
        let mut q = self.lock();
        loop {
            if q.abandoned {
                return None;
            }
            if let Some(lane) = q.lanes.pop_front() {
                if q.lanes.is_empty() && q.signaled {
                    if let Some(signal) = &self.signal {
                        signal.lower();
                    }
                    q.signaled = false;
                }
                // More waits than this thread takes: the next thread joins in.
                let more = !q.lanes.is_empty();
                self.wake_waiter(q, more);
                return Some(lane);
            }
            let now = Instant::now();
            let deadline = deadline.filter(|d| *d > now)?;
            q = self.wait_ready(q, deadline - now);
        }
    }

    /// Gives each lane queued when called one turn of at most `turn` callbacks on this
    /// thread, `max` callbacks in all; how many ran. A lane queued again meanwhile (more
    /// work, or notified while it ran) waits for the next call, so a steady stream of
    /// messages cannot keep the caller (an application's event loop) from getting its
    /// thread back.
    pub(crate) fn run_queued(&self, max: usize, turn: usize) -> usize {
        let turns = self.lock().lanes.len();
        let mut ran = 0;
        for _ in 0..turns {
            if ran >= max {
                break;
            }
            let Some(lane) = self.pop(None) else { break };
            ran += run_lane(lane, (max - ran).min(turn)).0;
        }
        ran
    }

    /// Nobody will run this scheduler's lanes any more: abandons those queued (they hold the
    /// scheduler, a cycle that would otherwise outlive everyone) and those queued later.
    pub(crate) fn abandon(&self) {
        let mut q = self.lock();
        q.abandoned = true;
        let lanes = std::mem::take(&mut q.lanes);
        if std::mem::take(&mut q.signaled) {
            if let Some(signal) = &self.signal {
                signal.lower();
            }
        }
        drop(q);
        // Threads waiting for lanes (a stopped pool's) return.
        self.ready.notify_all();
        lanes.iter().for_each(|lane| abandon_lane(&**lane));
    }

    /// Waits at most `limit` until a lane is queued; whether one is.
    pub(crate) fn wait(&self, limit: Duration) -> bool {
        let deadline = crate::client::runtime::deadline_after(limit);
        let mut q = self.lock();
        loop {
            if !q.lanes.is_empty() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            q = self.wait_ready(q, deadline - now);
        }
    }

    /// The socket's reading end (for a dispatcher).
    pub(crate) fn signal_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.signal.as_ref().map(|s| s.read.as_raw_fd())
    }

    /// A worker's loop: runs lanes as they are queued, `budget` callbacks per turn; with
    /// `single_lane` (a dedicated thread) it returns once its lane finished, else once the
    /// scheduler was abandoned (a stopped pool).
    pub(crate) fn serve(&self, budget: usize, single_lane: bool) {
        loop {
            let Some(lane) = self.pop(Some(crate::client::runtime::deadline_after(Duration::MAX))) else {
                if self.lock().abandoned {
                    return;
                }
                continue;
            };
            if run_lane(lane, budget).1 && single_lane {
                return;
            }
        }
    }
}
