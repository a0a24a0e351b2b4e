//! The application's own thread as an executor: callbacks of connections set up with a
//! dispatcher are queued to it and run inside [`Dispatcher::dispatch`], on whichever thread
//! calls it. Its file descriptor (a socket) is readable exactly while callbacks wait
//! (level-triggered), for epoll, poll, libuv, libevent, GLib or asyncio.

use crate::client::delivery::lane::Scheduler;
use crate::client::error::*;
use crate::client::runtime;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

pub(crate) struct Dispatcher {
    pub(super) scheduler: Arc<Scheduler>,
    /// The thread that called `dispatch` last: a blocking call made there that waits for
    /// callbacks (a drain) dispatches while it waits instead of waiting on itself.
    dispatching: Mutex<Option<ThreadId>>,
}

impl Dispatcher {
    pub(crate) fn new() -> Result<Arc<Dispatcher>> {
        let scheduler = Scheduler::with_signal()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot make the dispatcher's socket pair: {e}")))?;
        Ok(Arc::new(Dispatcher { scheduler, dispatching: Mutex::new(None) }))
    }

    /// Readable while callbacks wait.
    pub(crate) fn fd(&self) -> i32 {
        self.scheduler.signal_fd().unwrap_or(-1)
    }

    /// Runs waiting callbacks on this thread, at most `max`: one turn for each callback
    /// source waiting now (see [`Scheduler::run_queued`]); how many ran. Never waits for
    /// callbacks to arrive.
    pub(crate) fn dispatch(&self, max: usize) -> Result<usize> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "max must be at least 1 (SIZE_MAX: no limit)"));
        }
        runtime::refuse_on_runtime("nats_dispatcher_dispatch")?;
        *self.dispatching.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::thread::current().id());
        Ok(self.scheduler.run_queued(max, super::DISPATCH_TURN))
    }

    /// Waits at most `limit` for callbacks to wait; whether they do.
    pub(crate) fn wait(&self, limit: Duration) -> Result<bool> {
        runtime::refuse_on_runtime("nats_dispatcher_wait")?;
        Ok(self.scheduler.wait(limit))
    }

    /// The application let go of the dispatcher: what waits is dropped, and connections
    /// still using it queue nothing more (their callbacks no longer run).
    pub(crate) fn abandon(&self) {
        self.scheduler.abandon();
    }

    /// True on the thread that dispatches.
    pub(super) fn is_dispatching_thread(&self) -> bool {
        *self.dispatching.lock().unwrap_or_else(|p| p.into_inner()) == Some(std::thread::current().id())
    }
}
