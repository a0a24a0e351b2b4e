//! Strings and string arrays the library hands to C, and the functions that free them.

use crate::capi::guard::*;
use std::ffi::{c_char, CString};

/// Frees a string the library gave to the caller (`nats_connection_new_inbox`, ...). NULL is
/// a no-op. Do not pass strings the library lends (accessors returning `const char *`).
#[no_mangle]
pub unsafe extern "C" fn nats_string_free(s: *mut c_char) {
    guard_void(|| {
        if !s.is_null() {
            // SAFETY: the header lets only strings the library handed out come back here,
            // each once; they came from `CString::into_raw`.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// A string as C reads it: NUL-terminated, any NUL inside replaced by a space (C would stop
/// there).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Checks `names` and `count`, then writes the list `list()` makes as a library-allocated
/// array (see [`strings_out`]): the shape of every `..._names` / `..._keys` function.
pub(crate) fn strings_to(
    names: *mut *mut *mut c_char,
    count: *mut usize,
    list: impl FnOnce() -> crate::client::error::Result<Vec<String>>,
) -> crate::client::error::Result<()> {
    crate::capi::args::out_arg(names, "names")?;
    crate::capi::args::out_arg(count, "count")?;
    let (p, n) = strings_out(list()?);
    crate::capi::args::write_out(names, p);
    crate::capi::args::write_out(count, n);
    Ok(())
}

/// Hands a list of strings to C as a library-allocated array of `count` strings
/// (NULL and 0 when empty), released with [`nats_strings_free`].
pub fn strings_out(list: Vec<String>) -> (*mut *mut c_char, usize) {
    if list.is_empty() {
        return (std::ptr::null_mut(), 0);
    }
    let v: Vec<*mut c_char> = list.into_iter().map(|s| c_string(&s).into_raw()).collect();
    let n = v.len();
    (Box::into_raw(v.into_boxed_slice()).cast::<*mut c_char>(), n)
}

/// Frees an array of `count` strings the library handed out (`nats_jetstream_stream_names`,
/// ...), strings included. NULL is a no-op; `count` must be the count returned with it.
#[no_mangle]
pub unsafe extern "C" fn nats_strings_free(list: *mut *mut c_char, count: usize) {
    guard_void(|| {
        if !list.is_null() {
            // SAFETY: an array from `strings_out` with its count (as the header requires),
            // given back once, with the strings in it.
            let v = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(list, count)) };
            for s in v.iter().filter(|s| !s.is_null()) {
                // SAFETY: each came from `CString::into_raw`.
                drop(unsafe { std::ffi::CString::from_raw(*s) });
            }
        }
    })
}
