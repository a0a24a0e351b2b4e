//! The library as a whole: `nats_ffi_shutdown`, the runtime's size.

use crate::capi::guard::guard;
use crate::capi::status::nats_status;
use crate::client::{lifecycle, runtime};
use std::time::Duration;

/// Stops the library, for a plugin about to be unloaded and for leak checkers (nats.c's
/// `nats_CloseAndWait`): closes every connection still open (a drain: what was published is
/// sent, queued messages are still delivered), waits at most `timeout_ms` for the library's
/// delivery threads to end, then stops the shared delivery pool and the runtime with its
/// threads. The library stays usable: the next connect starts it anew.
///
/// Call it with no other thread inside the library. Free your handles first (or from their
/// callbacks): a connection's async-reply lane, a JetStream context's acknowledgement lane and a
/// KV watcher keep a thread each until freed, and then this returns `NATS_ERR_TIMEOUT` after
/// `timeout_ms`; their threads end once they are freed. Handles freed afterwards are released
/// as usual, and any other call on them fails with `NATS_ERR_CONNECTION_CLOSED`. Callbacks
/// waiting in a dispatcher stay there until dispatched or the dispatcher is freed.
/// Errors: `NATS_ERR_TIMEOUT` (delivery threads still run; see above),
/// `NATS_ERR_INVALID_ARGUMENT` (called from a callback, which would wait for itself),
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_ffi_shutdown(timeout_ms: u64) -> nats_status {
    guard(|| lifecycle::shutdown(Duration::from_millis(timeout_ms)))
}

/// Largest accepted `nats_ffi_set_runtime_threads` value.
pub const NATS_RUNTIME_MAX_THREADS: usize = 256;
const _: () = assert!(NATS_RUNTIME_MAX_THREADS == runtime::MAX_WORKER_THREADS);

/// Sets how many worker threads the library's runtime (the threads doing network I/O, never
/// running callbacks) has: 1 to `NATS_RUNTIME_MAX_THREADS`, default 2 (or the
/// `NATS_FFI_WORKER_THREADS` environment variable). It applies when the runtime starts: call
/// it before the first connect, or after `nats_ffi_shutdown`. Called while the runtime runs,
/// the count is kept for its next start and `NATS_ERR_INVALID_ARGUMENT` says so. Thread safe.
/// Errors: `NATS_ERR_INVALID_ARGUMENT` (0, more than the maximum, or the runtime already runs).
#[no_mangle]
pub unsafe extern "C" fn nats_ffi_set_runtime_threads(threads: usize) -> nats_status {
    guard(|| runtime::set_worker_threads(threads))
}
