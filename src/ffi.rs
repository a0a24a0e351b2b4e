//! Boundary helpers: the panic guard, pointer / string / slice checks, out-param writers and
//! subject validation. Every `extern "C"` function goes through [`guard`].

use crate::error::*;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr};
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
        Err(payload) => record(Error::new(NATS_ERR_PANIC, panic_text(payload.as_ref()))),
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

pub fn null(name: &str) -> Error {
    Error::new(NATS_ERR_NULL_ARGUMENT, format!("`{name}` is NULL"))
}

/// Borrows a required C string as `&str`.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for `'a`.
pub unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    CStr::from_ptr(p).to_str().map_err(|_| Error::new(NATS_ERR_INVALID_UTF8, format!("`{name}` is not valid UTF-8")))
}

/// Borrows an optional C string (NULL gives `None`).
///
/// # Safety
/// As [`str_arg`].
pub unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, name).map(Some)
    }
}

/// Borrows a payload. `data` may be NULL only when `len` is 0.
///
/// # Safety
/// `data` must point to `len` readable bytes.
pub unsafe fn bytes_arg<'a>(data: *const c_void, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Error::new(NATS_ERR_NULL_ARGUMENT, format!("`{name}` is NULL but its length is {len}")));
    }
    Ok(std::slice::from_raw_parts(data.cast::<u8>(), len))
}

/// Checks an out-param before any work is done.
pub fn out_arg<T>(out: *mut T, name: &str) -> Result<()> {
    if out.is_null() {
        Err(null(name))
    } else {
        Ok(())
    }
}

/// Writes an out-param (only called on success).
///
/// # Safety
/// `out` must be valid for writes (checked non-NULL by [`out_arg`]).
pub unsafe fn write_out<T>(out: *mut T, value: T) {
    out.write(value)
}

/// Implements `from_c(value, field)` for a `#[repr(i32)]` C enum: C may store any int32 in an
/// enum-typed field or argument, and an out-of-range value must become an error, never an
/// invalid Rust enum (undefined behaviour). So such values cross the boundary as `i32` and
/// are read with this.
macro_rules! c_enum_reader {
    ($t:ident { $($v:ident),+ $(,)? }) => {
        impl $t {
            /// Reads a value C stored in `field`; `NATS_ERR_INVALID_ARGUMENT` names the field
            /// and the value when it is none of this enum's.
            pub(crate) fn from_c(value: i32, field: &str) -> $crate::error::Result<Self> {
                $( if value == $t::$v as i32 { return Ok($t::$v); } )+
                Err($crate::ffi::invalid_enum(field, stringify!($t), value))
            }
        }
    };
}
pub(crate) use c_enum_reader;

pub(crate) fn invalid_enum(field: &str, type_name: &str, value: i32) -> Error {
    Error::new(NATS_ERR_INVALID_ARGUMENT, format!("`{field}` is {value}, which is not a `{type_name}` value"))
}

/// The largest capacity accepted for the library's internal queues (`sender_capacity`,
/// `max_pending_acks`): 16M entries. The queues underneath cannot hold more, and no
/// workload needs it.
pub const NATS_MAX_QUEUE_CAPACITY: usize = 1 << 24;

/// Checks a queue capacity given by the user: 1 to [`NATS_MAX_QUEUE_CAPACITY`].
pub fn check_capacity(value: usize, name: &str) -> Result<()> {
    if value == 0 || value > NATS_MAX_QUEUE_CAPACITY {
        return Err(Error::new(
            NATS_ERR_INVALID_ARGUMENT,
            format!("`{name}` is {value}; it must be between 1 and {NATS_MAX_QUEUE_CAPACITY}"),
        ));
    }
    Ok(())
}

/// The server's default `max_control_line`: the longest protocol line (`PUB`, `HPUB`, `SUB`
/// with their arguments) it accepts. A longer line makes it drop the connection, and a SUB is
/// sent again on every reconnect, so such a line must never leave the library.
pub const NATS_MAX_CONTROL_LINE: usize = 4096;

/// What a protocol line holds besides its subjects: the verb, separators, a sid or two sizes
/// of up to 20 digits each, and CRLF (`HPUB ` + 3 spaces + 40 digits + CRLF = 50).
const CONTROL_LINE_OVERHEAD: usize = 64;

/// Refuses a protocol line whose subjects (subject, reply or queue) would make it longer than
/// [`NATS_MAX_CONTROL_LINE`]; `extra` counts subjects the library adds (a request's inbox reply).
pub fn check_control_line(what: &str, parts: &[&str], extra: usize) -> Result<()> {
    let line = parts.iter().map(|p| p.len()).sum::<usize>() + extra + CONTROL_LINE_OVERHEAD;
    if line > NATS_MAX_CONTROL_LINE {
        return Err(Error::new(
            NATS_ERR_INVALID_SUBJECT,
            format!("{what}: its subjects make a protocol line of about {line} bytes, over the server's limit of {NATS_MAX_CONTROL_LINE}"),
        ));
    }
    Ok(())
}

/// Validates a subject. Tokens are separated by `.`, none may be empty, no whitespace;
/// with `wildcards`, `*` may be a whole token and `>` the whole last token, otherwise a
/// literal subject is required (publishing, reply subjects).
pub fn check_subject(subject: &str, wildcards: bool, what: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::new(NATS_ERR_INVALID_SUBJECT, format!("{what} {subject:?} {why}")));
    if subject.is_empty() {
        return bad("is empty");
    }
    if subject.len() + CONTROL_LINE_OVERHEAD > NATS_MAX_CONTROL_LINE {
        return Err(Error::new(
            NATS_ERR_INVALID_SUBJECT,
            format!("{what} is {} bytes long: no protocol line can carry it (the server's limit is {NATS_MAX_CONTROL_LINE})", subject.len()),
        ));
    }
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    let last = tokens.len() - 1;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_empty() {
            return bad("has an empty token");
        }
        let wild = *t == "*" || *t == ">";
        if wild && !wildcards {
            return bad("contains a wildcard, which is not allowed here");
        }
        if *t == ">" && i != last {
            return bad("has '>' before the last token");
        }
    }
    Ok(())
}

/// Validates a queue group name: non-empty, no whitespace.
pub fn check_queue(queue: &str) -> Result<()> {
    if queue.len() + CONTROL_LINE_OVERHEAD > NATS_MAX_CONTROL_LINE {
        return Err(Error::new(
            NATS_ERR_INVALID_SUBJECT,
            format!("queue group is {} bytes long, over the protocol's limit", queue.len()),
        ));
    }
    if queue.is_empty() || queue.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::new(
            NATS_ERR_INVALID_SUBJECT,
            format!("queue group {queue:?} is empty or contains whitespace"),
        ));
    }
    Ok(())
}

/// Frees a string the library gave to the caller (`nats_connection_new_inbox`, ...). NULL is
/// a no-op. Do not pass strings the library lends (accessors returning `const char *`).
#[no_mangle]
pub unsafe extern "C" fn nats_string_free(s: *mut c_char) {
    guard_void(|| {
        if !s.is_null() {
            drop(std::ffi::CString::from_raw(s));
        }
    })
}

/// Hands a list of strings to C as a library-allocated array of `count` strings
/// (NULL and 0 when empty), released with [`nats_strings_free`].
pub fn strings_out(list: Vec<String>) -> (*mut *mut c_char, usize) {
    if list.is_empty() {
        return (std::ptr::null_mut(), 0);
    }
    let v: Vec<*mut c_char> =
        list.into_iter().map(|s| std::ffi::CString::new(s.replace('\0', " ")).unwrap_or_default().into_raw()).collect();
    let n = v.len();
    (Box::into_raw(v.into_boxed_slice()).cast::<*mut c_char>(), n)
}

/// Frees an array of `count` strings the library handed out (`nats_jetstream_stream_names`,
/// ...), strings included. NULL is a no-op; `count` must be the count returned with it.
#[no_mangle]
pub unsafe extern "C" fn nats_strings_free(list: *mut *mut c_char, count: usize) {
    guard_void(|| {
        if !list.is_null() {
            let v = Box::from_raw(std::ptr::slice_from_raw_parts_mut(list, count));
            for s in v.iter() {
                if !s.is_null() {
                    drop(std::ffi::CString::from_raw(*s));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        for ok in ["a", "a.b", "foo.bar.baz", "_INBOX.x", "a-b_c:d"] {
            assert!(check_subject(ok, false, "s").is_ok(), "{ok}");
        }
        for ok in ["*", ">", "a.*", "a.>", "*.b.>", "a.*.c"] {
            assert!(check_subject(ok, true, "s").is_ok(), "{ok}");
            assert_eq!(check_subject(ok, false, "s").unwrap_err().status, NATS_ERR_INVALID_SUBJECT);
        }
        for bad in ["", " ", "a b", "a..b", ".a", "a.", "a.>.b", "a\tb", "a\r\nb", ">.a"] {
            assert_eq!(check_subject(bad, true, "s").unwrap_err().status, NATS_ERR_INVALID_SUBJECT, "{bad:?}");
        }
        assert!(check_queue("workers").is_ok());
        assert!(check_queue("").is_err());
        assert!(check_queue("a b").is_err());
    }
}
