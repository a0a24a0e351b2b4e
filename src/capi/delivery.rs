//! Where callbacks run: the shared delivery pool's size, and dispatchers (the application's
//! own thread). The per-connection choice is made with `nats_options_use_shared_delivery`
//! and `nats_options_set_dispatcher`.

use crate::capi::args::{out_arg, write_out};
use crate::capi::guard::{guard, guard_void, read_or};
use crate::capi::handle::*;
use crate::capi::status::nats_status;
use crate::client::delivery::dispatcher::Dispatcher;
use crate::client::delivery::{self, DEFAULT_POOL_SIZE, MAX_POOL_SIZE};
use std::time::Duration;

/// Default number of threads of the shared delivery pool.
pub const NATS_DELIVERY_POOL_DEFAULT_SIZE: usize = 4;
/// Largest accepted delivery pool size.
pub const NATS_DELIVERY_POOL_MAX_SIZE: usize = 1024;
// The header needs literals; the client's values are the ones that count.
const _: () =
    assert!(NATS_DELIVERY_POOL_DEFAULT_SIZE == DEFAULT_POOL_SIZE && NATS_DELIVERY_POOL_MAX_SIZE == MAX_POOL_SIZE);

/// Runs callbacks on the application's thread. Every callback of the connections set up
/// with `nats_options_set_dispatcher` — messages (core, JetStream push, pull consume and
/// ordered subscriptions), connection events, `nats_request_async` replies, JetStream
/// publish acknowledgements, KV watch entries — is queued to it and runs inside
/// `nats_dispatcher_dispatch`, on the thread that calls it. One dispatcher may serve several
/// connections. Callbacks of one subscription (or one event stream, one watch, ...) run one
/// at a time and in order; pending limits and slow-consumer accounting apply unchanged.
///
/// Its file descriptor (`nats_dispatcher_fd`) is readable exactly while callbacks wait:
/// level-triggered, it stays readable until `nats_dispatcher_dispatch` has taken everything
/// (never read from it yourself). Use it with epoll/poll/select, libuv `uv_poll`, libevent
/// `event_new(..., EV_READ | EV_PERSIST, ...)`, GLib or Python's `loop.add_reader`.
///
/// A dispatched callback may call any function, including unsubscribing, closing and
/// freeing what it belongs to, and blocking calls such as `nats_request`. Calls that wait
/// for other callbacks (`nats_connection_drain`, `nats_subscription_drain`,
/// `nats_jetstream_publish_async_complete`, `nats_jetstream_publish_async` waiting for an
/// acknowledgement slot) dispatch while they wait when made on the dispatching thread, so
/// they never wait on the dispatcher itself; a drain made from inside one of the
/// subscription's own callbacks does not wait for that subscription.
///
/// Thread safety: every function may be called from any thread; call
/// `nats_dispatcher_dispatch` from one thread (the one whose callbacks you want) at a time.
/// Freeing: `nats_dispatcher_free` with connections still open is safe (they keep a
/// reference), but their callbacks no longer run: what waits is discarded. Close (or drain)
/// them and dispatch until `nats_dispatcher_wait` times out before freeing it, so that every
/// callback and `user_data_free` runs on the dispatching thread.
///
/// Functions: `nats_dispatcher_new`, `nats_dispatcher_free`, `nats_dispatcher_fd`,
/// `nats_dispatcher_dispatch`, `nats_dispatcher_wait`, `nats_options_set_dispatcher`.
pub struct nats_dispatcher {
    _private: [u8; 0],
}

// C shares a `nats_dispatcher` with the connections using it (see capi::handle).
impl Castable for nats_dispatcher {
    type Rust = Dispatcher;
}
impl ArcHandle for nats_dispatcher {}

/// Sets the number of threads of the library-wide delivery pool used by connections with
/// `nats_options_use_shared_delivery`. Default `NATS_DELIVERY_POOL_DEFAULT_SIZE` (4). The
/// pool only grows: a size below the current one changes nothing. Threads start when the
/// first connection uses the pool (none at load). May be called at any time, from any
/// thread. Errors: `NATS_ERR_INVALID_ARGUMENT` (0 or above `NATS_DELIVERY_POOL_MAX_SIZE`),
/// `NATS_ERR_INTERNAL` (a thread could not start).
#[no_mangle]
pub extern "C" fn nats_ffi_set_delivery_pool_size(threads: usize) -> nats_status {
    guard(|| delivery::set_pool_size(threads))
}

/// Creates a dispatcher (→ `nats_dispatcher_free`). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INTERNAL` (its socket pair could not be made).
#[no_mangle]
pub unsafe extern "C" fn nats_dispatcher_new(out: *mut *mut nats_dispatcher) -> nats_status {
    guard(|| {
        out_arg(out, "out")?;
        arc_out(out, Dispatcher::new()?);
        Ok(())
    })
}

/// Frees the dispatcher: callbacks still waiting are discarded (their `user_data_free`, if
/// any, runs now, on this thread), and connections still using it keep a harmless reference
/// but no longer run callbacks (see `nats_dispatcher`). Must not be called while another
/// thread uses `d`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_dispatcher_free(d: *mut nats_dispatcher) {
    guard_void(|| {
        if let Some(d) = free_arc(d) {
            d.abandon();
        }
    })
}

/// The file descriptor that is readable while callbacks wait (level-triggered; owned by the
/// dispatcher: do not read, write or close it). -1 when `d` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_dispatcher_fd(d: *const nats_dispatcher) -> i32 {
    read_or(d, -1, |d| d.fd())
}

/// Runs the callbacks waiting on this thread, at most `max` (`SIZE_MAX`: no limit but the
/// turns), and writes how many ran to `*ran` (may be NULL). Each callback source waiting when
/// the call starts (a subscription, a connection's events, a watch, ...) gets one turn of at
/// most 1024 callbacks, in the order they became ready; what is left, and what arrives
/// meanwhile, waits for the next call (the fd stays readable), so a steady stream of messages
/// cannot keep the call from returning to the event loop. Never waits for callbacks to
/// arrive: returns at once when none waits. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (`max` 0), `NATS_ERR_WOULD_BLOCK_RUNTIME` (called on a
/// runtime thread).
#[no_mangle]
pub unsafe extern "C" fn nats_dispatcher_dispatch(d: *mut nats_dispatcher, max: usize, ran: *mut usize) -> nats_status {
    guard(|| {
        let n = borrow(d, "d")?.dispatch(max)?;
        if !ran.is_null() {
            write_out(ran, n);
        }
        Ok(())
    })
}

/// Waits at most `timeout_ms` until callbacks wait. `NATS_OK` when they do (dispatch them),
/// `NATS_ERR_TIMEOUT` when none came. For a thread that does nothing but dispatch.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_dispatcher_wait(d: *mut nats_dispatcher, timeout_ms: u64) -> nats_status {
    guard(|| {
        if borrow(d, "d")?.wait(Duration::from_millis(timeout_ms))? {
            return Ok(());
        }
        Err(crate::client::error::Error::new(
            crate::client::error::ErrorKind::Timeout,
            format!("no callback waited within {timeout_ms} ms"),
        ))
    })
}
