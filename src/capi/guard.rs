//! The panic boundary. Every `extern "C"` function runs its body in [`guard`] (or
//! [`guard_void`] / [`guard_value`]): an `Err` becomes its status and this thread's last error,
//! a panic becomes `NATS_ERR_PANIC`; nothing unwinds into C, and nothing is printed.

use crate::capi::status::*;
use crate::client::error::*;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// How many guards the calling thread is inside.
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last panic on this thread happened, kept by the panic hook for the guard.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps the library's panics off the host's stderr: a library must not print. Installed
/// once, on the first call into the library (not at load). Panics inside a guard or on one
/// of the library's threads (all named `nats-ffi-*`) are recorded for `nats_last_error()` /
/// the error callback instead of printed; any other panic goes to the hook that was there
/// before. `NATS_FFI_PRINT_PANICS=1` in the environment prints them too, for debugging.
fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = GUARD_DEPTH.with(Cell::get) > 0
                || std::thread::current().name().is_some_and(|n| n.starts_with("nats-ffi"));
            if ours {
                let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_LOCATION.with(|p| *p.borrow_mut() = location);
                if std::env::var_os("NATS_FFI_PRINT_PANICS").is_none_or(|v| v != "1") {
                    return;
                }
            }
            previous(info)
        }));
    });
}

/// Runs `f` with panics caught, quiet and counted as inside the library.
fn catch<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    install_quiet_panic_hook();
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    result
}

/// The text of a caught panic, with where it happened when known.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    match PANIC_LOCATION.with(|p| p.borrow_mut().take()) {
        Some(at) => format!("{what} (at {at})"),
        None => what,
    }
}

/// Runs `f`, turning an `Err` into its status (recorded as this thread's last error) and a
/// panic into `NATS_ERR_PANIC`. Nothing unwinds past this function.
pub fn guard<F: FnOnce() -> Result<()>>(f: F) -> nats_status {
    match catch(f) {
        Ok(Ok(())) => NATS_OK,
        Ok(Err(e)) => record(e),
        Err(payload) => record(Error::new(ErrorKind::Panic, panic_text(payload.as_ref()))),
    }
}

/// Like [`guard`] for functions that return nothing (`_free`, `_close`): panics are swallowed.
pub fn guard_void<F: FnOnce()>(f: F) {
    let _ = catch(f);
}

/// Like [`guard`] for accessors returning a value; `fallback` on panic.
pub fn guard_value<T, F: FnOnce() -> T>(fallback: T, f: F) -> T {
    catch(f).unwrap_or(fallback)
}
