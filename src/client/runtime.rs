//! The library's one tokio runtime: started lazily on first use (not at load time), rebuilt in
//! a forked child, stopped only by `nats_ffi_shutdown` (and started anew by the next connect).
//! Blocking helpers refuse to run on its own threads, and on a stopped runtime's handle.

use crate::client::error::*;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use tokio::runtime::{Builder, Handle, Runtime};

/// (pid that built it, the runtime). A child after `fork()` sees another pid and builds its
/// own runtime: the parent's worker threads do not exist in the child, so the old runtime is
/// leaked rather than dropped (dropping would wait for threads that are gone).
static RUNTIME: Mutex<Option<(u32, Runtime)>> = Mutex::new(None);

/// Counts runtimes stopped by [`shutdown`]: a handle from before refuses to block.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// A handle on the runtime, knowing which one: after `nats_ffi_shutdown` stopped it, blocking
/// on it is refused (tokio would panic on its stopped timers) instead of attempted.
#[derive(Clone, Debug)]
pub struct RtHandle {
    handle: Handle,
    epoch: u64,
}

impl std::ops::Deref for RtHandle {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl RtHandle {
    /// `Err(CONNECTION_CLOSED)` once the runtime behind this handle was shut down.
    fn check_running(&self, what: &str) -> Result<()> {
        if self.epoch != EPOCH.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::ConnectionClosed,
                format!("{what}: the library was shut down (nats_ffi_shutdown) since this was made"),
            ));
        }
        Ok(())
    }
}

/// Worker threads asked for with [`set_worker_threads`]; 0: not asked.
static WORKER_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The most worker threads accepted.
pub(crate) const MAX_WORKER_THREADS: usize = 256;

/// The runtime's worker threads: as set by [`set_worker_threads`], else
/// `NATS_FFI_WORKER_THREADS`, else 2.
fn worker_threads() -> usize {
    match WORKER_THREADS.load(Ordering::Acquire) {
        0 => std::env::var("NATS_FFI_WORKER_THREADS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(2),
        n => n,
    }
}

/// Sets the runtime's worker threads, used when it next starts (the first connect, or the
/// first after a shutdown). `Err(INVALID_ARGUMENT)` out of range, and when it runs now (the
/// count is kept for its next start).
pub fn set_worker_threads(threads: usize) -> Result<()> {
    if threads == 0 || threads > MAX_WORKER_THREADS {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the runtime needs 1 to {MAX_WORKER_THREADS} worker threads, not {threads}"),
        ));
    }
    WORKER_THREADS.store(threads, Ordering::Release);
    let slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|(pid, _)| *pid == std::process::id()) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the runtime already runs: the count applies after nats_ffi_shutdown",
        ));
    }
    Ok(())
}

/// `now + limit`, or a century from now when that is past what an `Instant` can hold: the
/// caller's timeout may be any u64 of milliseconds, and `Instant + Duration` panics on
/// overflow.
pub fn deadline_after(limit: std::time::Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(limit)
        .or_else(|| now.checked_add(std::time::Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// The runtime handle for this process, starting the runtime on first use.
pub fn handle() -> Result<RtHandle> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    let epoch = EPOCH.load(Ordering::Acquire);
    match slot.take() {
        Some((owner, rt)) if owner == pid => {
            let handle = rt.handle().clone();
            *slot = Some((owner, rt));
            return Ok(RtHandle { handle, epoch });
        }
        // The parent's, in a forked child: its threads are gone.
        Some((_, rt)) => std::mem::forget(rt),
        None => {}
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("nats-ffi-rt")
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the runtime: {e}")))?;
    let handle = rt.handle().clone();
    *slot = Some((pid, rt));
    Ok(RtHandle { handle, epoch })
}

/// Stops the runtime (its worker threads end; its tasks are dropped), waiting at most
/// `limit` for tasks that are running; the next [`handle`] starts a new one. Handles from
/// before refuse to block from now on.
pub fn shutdown(limit: std::time::Duration) -> Result<()> {
    refuse_on_runtime("nats_ffi_shutdown")?;
    let taken = {
        let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
        EPOCH.fetch_add(1, Ordering::AcqRel);
        slot.take()
    };
    match taken {
        Some((owner, rt)) if owner == std::process::id() => rt.shutdown_timeout(limit),
        Some((_, rt)) => std::mem::forget(rt),
        None => {}
    }
    Ok(())
}

/// True when the calling thread is inside a tokio runtime (ours or the caller's own), where
/// blocking would stall or deadlock it.
pub fn on_runtime_thread() -> bool {
    Handle::try_current().is_ok()
}

pub fn refuse_on_runtime(what: &str) -> Result<()> {
    if on_runtime_thread() {
        return Err(Error::new(
            ErrorKind::WouldBlockRuntime,
            format!("{what} would block an async runtime thread; call it from another thread"),
        ));
    }
    Ok(())
}

/// Runs `fut` to completion on the calling (non-runtime) thread. The future is polled once
/// inline first: most publishes complete without parking the thread.
pub fn block_on<F: Future>(handle: &RtHandle, what: &str, fut: F) -> Result<F::Output> {
    refuse_on_runtime(what)?;
    handle.check_running(what)?;
    let _enter = handle.enter();
    let mut fut = pin!(fut);
    if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return Ok(v);
    }
    Ok(handle.block_on(fut))
}

/// Like [`block_on`], bounded by `limit` once the future has to wait.
/// `Err(NATS_ERR_TIMEOUT)` when the limit passes (the future is dropped).
///
/// The calling thread parks with a timeout of its own instead of registering a tokio timer:
/// a timer earlier than every other one makes tokio wake the runtime thread that waits in
/// the I/O driver (to re-arm its sleep), one cross-thread wake-up per call that costs a
/// request's round trip more than the rest of our share of it.
pub fn block_on_timeout<F: Future>(
    handle: &RtHandle,
    what: &str,
    limit: std::time::Duration,
    fut: F,
) -> Result<F::Output> {
    refuse_on_runtime(what)?;
    handle.check_running(what)?;
    let _enter = handle.enter();
    let mut fut = pin!(fut);
    if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return Ok(v);
    }
    let timed_out =
        || Error::new(ErrorKind::Timeout, format!("{what} did not complete within {} ms", limit.as_millis()));
    let Ok(waker) = THREAD_WAKER.try_with(Waker::clone) else {
        // The thread is exiting (a thread-local's destructor called us): tokio's own wait.
        return handle.block_on(tokio::time::timeout(limit, fut)).map_err(|_| timed_out());
    };
    let mut cx = Context::from_waker(&waker);
    let deadline = deadline_after(limit);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Ok(v);
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return Err(timed_out());
        }
        // Returns when woken, at the deadline, or spuriously: each is followed by a poll.
        std::thread::park_timeout(deadline - now);
    }
}

/// Wakes the thread it was made on (std's park token: a wake-up that comes before the
/// thread parks is not lost).
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// The calling thread's waker, made once per thread.
    static THREAD_WAKER: Waker = Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
}
