//! Where handlers run: each callback subscription has a delivery thread of its own, which
//! takes its messages from the pending queue in order and hands them to its
//! [`MessageHandler`]. Handlers thus never run on runtime threads and may call anything,
//! including blocking functions. A connection counts its delivery threads so that a drain
//! can wait for the last handler call.

use crate::client::connection::Connection;
use crate::client::error::*;
use crate::client::message::Message;
use crate::client::subscription::Subscription;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a callback subscription does with each message, on its delivery thread.
pub(crate) trait MessageHandler: Send + 'static {
    /// The subscription exists and its delivery thread runs: from here on the handler owns
    /// what it holds (until then, a failed subscribe leaves that to the caller).
    fn accepted(&mut self);

    /// One message, in the order received; the next waits until this returns.
    fn on_message(&mut self, sub: &Arc<Subscription>, msg: Message);
}

thread_local! {
    /// On a delivery thread: the connection and subscription it delivers for.
    static DELIVERING: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// True on a delivery thread of one of `conn`'s subscriptions.
pub(crate) fn delivering_for(conn: &Connection) -> bool {
    DELIVERING.with(|d| d.get().0 == std::ptr::from_ref(conn).addr())
}

pub(crate) fn delivering_sub(sub: &Subscription) -> bool {
    DELIVERING.with(|d| d.get().1 == std::ptr::from_ref(sub).addr())
}

/// The handler of a callback subscription.
pub(crate) type Callback = Box<dyn MessageHandler>;

/// Starts the delivery thread of `sub`, which hands its messages to `cb`.
pub(crate) fn start(sub: &Arc<Subscription>, cb: Callback) -> Result<()> {
    let conn = sub.connection().clone();
    let for_thread = sub.clone();
    conn.deliveries.started();
    let spawned = std::thread::Builder::new().name("nats-ffi-sub".into()).spawn(move || {
        // From here the subscription owns the handler (had the thread not started, the call
        // would fail and leave what it holds to the caller).
        let mut cb = cb;
        cb.accepted();
        let conn = for_thread.connection().clone();
        deliver(for_thread, cb.as_mut());
        drop(cb); // releases what it holds, after the last message
        conn.deliveries.finished();
    });
    if let Err(e) = spawned {
        conn.deliveries.finished();
        return Err(Error::new(ErrorKind::Internal, format!("cannot start a delivery thread: {e}")));
    }
    Ok(())
}

/// The delivery thread's loop.
fn deliver(sub: Arc<Subscription>, cb: &mut dyn MessageHandler) {
    DELIVERING.with(|d| d.set((Arc::as_ptr(sub.connection()).addr(), Arc::as_ptr(&sub).addr())));
    let mut batch = VecDeque::new();
    'outer: while sub.take_queued(&mut batch) {
        while let Some(m) = batch.pop_front() {
            if !sub.is_active() {
                break 'outer;
            }
            sub.hand_over(m, cb);
        }
    }
    sub.delivery_finished();
}

/// Counts the delivery threads of a connection's subscriptions still running, so that
/// a drain can wait for the last handler call.
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
    /// Waits until no delivery thread runs; false if `limit` passed first.
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
