//! The panic boundary. Every `extern "C"` function runs its body in [`guard`] (or
//! [`guard_void`] / [`guard_value`]): an `Err` becomes its status and this thread's last error,
//! a panic becomes `NATS_ERR_PANIC`; nothing unwinds into C, and nothing is printed.

use crate::capi::handle::{borrow, borrow_opt, Castable};
use crate::capi::status::*;
use crate::client::error::*;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// How many guards the calling thread is inside.
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
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
                note_panic_location(location);
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

/// The value an accessor returns when it cannot read its handle (NULL) or panics: 0, false,
/// NULL, and per C enum the value its accessor documents. Accessors documenting another
/// value for NULL name it ([`guard_value_or`], [`read_or`]).
pub trait Fallback {
    fn fallback() -> Self;
}

macro_rules! fallback {
    ($($t:ty => $v:expr),+ $(,)?) => { $(impl Fallback for $t { fn fallback() -> Self { $v } })+ };
}
fallback!(u16 => 0, u64 => 0, i64 => 0, usize => 0, bool => false);

impl<T> Fallback for *const T {
    fn fallback() -> Self {
        std::ptr::null()
    }
}

/// Like [`guard`] for accessors returning a value: its type's [`Fallback`] on panic.
pub fn guard_value<T: Fallback, F: FnOnce() -> T>(f: F) -> T {
    catch(f).unwrap_or_else(|_| T::fallback())
}

/// Like [`guard_value`], with another fallback the accessor documents.
pub fn guard_value_or<T, F: FnOnce() -> T>(fallback: T, f: F) -> T {
    catch(f).unwrap_or(fallback)
}

/// An accessor: `f` on the value behind handle `p`; for NULL, and should `f` panic, the
/// return type's [`Fallback`].
pub(crate) fn read<H: Castable, T: Fallback>(p: *const H, f: impl FnOnce(&H::Rust) -> T) -> T {
    guard_value(|| borrow_opt(p).map_or_else(T::fallback, f))
}

/// As [`read`], with another value for NULL (and panics) that the accessor documents.
pub(crate) fn read_or<H: Castable, T: Copy>(p: *const H, fallback: T, f: impl FnOnce(&H::Rust) -> T) -> T {
    guard_value_or(fallback, || borrow_opt(p).map_or(fallback, f))
}

/// Writes what `f` reads from the value behind handle `p` to `*out`: the shape of the
/// functions that fill a struct from a snapshot. Errors: `NATS_ERR_NULL_ARGUMENT`.
pub(crate) fn copy_out<H: Castable, T>(
    p: *const H,
    name: &str,
    out: *mut T,
    out_name: &str,
    f: impl FnOnce(&H::Rust) -> T,
) -> nats_status {
    guard(|| {
        let value = borrow(p, name)?;
        crate::capi::args::out_arg(out, out_name)?;
        crate::capi::args::write_out(out, f(value));
        Ok(())
    })
}
