//! Readers for what C passes in: pointers, strings, payloads, out-parameters and enum values,
//! each error naming the bad argument.

use crate::client::error::*;
use std::ffi::{c_char, c_void, CStr};
use std::time::Duration;

pub fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("`{name}` is NULL"))
}

/// Borrows a required C string as `&str`.
///
/// Relies on C's contract (see `capi`): `p` must be NULL or point to a NUL-terminated string valid for `'a`.
pub fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL, and C's contract promises a NUL-terminated string valid for 'a.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("`{name}` is not valid UTF-8")))
}

/// Borrows an optional C string (NULL gives `None`).
///
/// Relies on C's contract (see `capi`): As [`str_arg`].
pub fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, name).map(Some)
    }
}

/// Borrows a payload. `data` may be NULL only when `len` is 0.
///
/// Relies on C's contract (see `capi`): `data` must point to `len` readable bytes.
pub fn bytes_arg<'a>(data: *const c_void, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Error::new(ErrorKind::NullArgument, format!("`{name}` is NULL but its length is {len}")));
    }
    // SAFETY: non-NULL, and C's contract promises `len` readable bytes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// The pointer C gets for a payload: never NULL, even when empty (a static "" then).
pub(crate) fn data_ptr(bytes: &[u8]) -> *const c_void {
    if bytes.is_empty() {
        c"".as_ptr().cast()
    } else {
        bytes.as_ptr().cast()
    }
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
/// Relies on C's contract (see `capi`): `out` must be valid for writes (checked non-NULL by [`out_arg`]).
pub fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: C's contract, as stated above.
    unsafe { out.write(value) }
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
            pub(crate) fn from_c(value: i32, field: &str) -> $crate::client::error::Result<Self> {
                $( if value == $t::$v as i32 { return Ok($t::$v); } )+
                Err($crate::capi::args::invalid_enum(field, stringify!($t), value))
            }
        }
    };
}
pub(crate) use c_enum_reader;

pub(crate) fn invalid_enum(field: &str, type_name: &str, value: i32) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("`{field}` is {value}, which is not a `{type_name}` value"))
}

/// The largest capacity accepted for the library's internal queues (`sender_capacity`,
/// `max_pending_acks`): 16M entries. The queues underneath cannot hold more, and no
/// workload needs it.
pub const NATS_MAX_QUEUE_CAPACITY: usize = 1 << 24;

/// Checks a queue capacity given by the user: 1 to [`NATS_MAX_QUEUE_CAPACITY`].
pub fn check_capacity(value: usize, name: &str) -> Result<()> {
    if value == 0 || value > NATS_MAX_QUEUE_CAPACITY {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("`{name}` is {value}; it must be between 1 and {NATS_MAX_QUEUE_CAPACITY}"),
        ));
    }
    Ok(())
}

/// The server's default `max_control_line`: the longest protocol line (`PUB`, `HPUB`, `SUB`
/// with their arguments) it accepts. A longer line makes it drop the connection, and a SUB is
/// sent again on every reconnect, so subjects that would make such a line are refused with
/// `NATS_ERR_INVALID_SUBJECT`.
pub const NATS_MAX_CONTROL_LINE: usize = 4096;
const _: () = assert!(NATS_MAX_CONTROL_LINE == crate::client::subject::MAX_CONTROL_LINE);

/// Borrows a struct C passes by pointer (a config, options); NULL is `NATS_ERR_NULL_ARGUMENT`
/// naming the argument.
pub(crate) fn struct_arg<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    struct_opt(p).ok_or_else(|| null(name))
}

/// Borrows an optional struct C passes by pointer (NULL: `None`).
///
/// Relies on C's contract (see `capi`): `p` is NULL or points to a valid, initialized `T`
/// for `'a`.
pub(crate) fn struct_opt<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: C's contract, as stated above.
    unsafe { p.as_ref() }
}

/// A timeout (or wait) argument in milliseconds, where 0 means "the default" the function
/// documents (the connection's request timeout, the context's timeout, ...). The one place
/// this rule of the API is written.
pub(crate) fn ms_or_default(ms: u64, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(ms)
    }
}

/// Borrows an array C passes with its length; NULL is `NATS_ERR_NULL_ARGUMENT` naming the
/// argument (even for `count` 0: the functions taking arrays document them as required).
///
/// Relies on C's contract (see `capi`): `p` is NULL or points to `count` initialized values
/// valid for `'a`.
pub(crate) fn array_arg<'a, T>(p: *const T, count: usize, name: &str) -> Result<&'a [T]> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL, and C's contract promises `count` values for 'a.
    Ok(unsafe { std::slice::from_raw_parts(p, count) })
}

/// An array of C strings C passes with its length (NULL is fine when `count` is 0).
///
/// Relies on C's contract (see `capi`): as [`array_arg`] and [`str_arg`].
pub(crate) fn strings_arg(p: *const *const c_char, count: usize, name: &str) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    array_arg(p, count, name)?.iter().map(|&s| str_arg(s, name).map(str::to_string)).collect()
}

/// Metadata C passes as `count` keys and as many values.
pub(crate) fn metadata_arg(
    keys: *const *const c_char,
    values: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<std::collections::HashMap<String, String>> {
    let keys = strings_arg(keys, count, &format!("{name}_keys"))?;
    let values = strings_arg(values, count, &format!("{name}_values"))?;
    Ok(keys.into_iter().zip(values).collect())
}
