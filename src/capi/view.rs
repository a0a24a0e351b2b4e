//! C views of snapshots: structs C reads (a stream's configuration, account usage, ...)
//! whose strings and arrays are borrowed from the snapshot that owns them.

use crate::capi::strings::c_string;
use std::any::Any;
use std::ffi::{c_char, CString};
use std::time::Duration;

/// Owns the strings and arrays a C view points into. Heap buffers do not move when their
/// owner (a `CString`, a `Vec`, a `Box`) is moved into the arena, so the pointers handed out
/// stay valid for as long as the arena lives.
#[derive(Default)]
pub(crate) struct CArena {
    strings: Vec<CString>,
    kept: Vec<Box<dyn Any>>,
}

// SAFETY: the arena is filled once, while its snapshot is built, and only read afterwards;
// the raw pointers it holds point into its own heap buffers.
unsafe impl Send for CArena {}
unsafe impl Sync for CArena {}

impl CArena {
    /// A NUL-terminated copy of `s`, owned by the arena.
    pub(crate) fn text(&mut self, s: &str) -> *const c_char {
        let c = c_string(s);
        let p = c.as_ptr();
        self.strings.push(c);
        p
    }

    /// As [`CArena::text`]; NULL for `None`.
    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> *const c_char {
        s.map_or(std::ptr::null(), |s| self.text(s))
    }

    /// An array of strings and its length (NULL and 0 when empty).
    pub(crate) fn texts<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> (*const *const c_char, usize) {
        let ptrs: Vec<*const c_char> = items.into_iter().map(|s| self.text(s)).collect();
        self.array(ptrs)
    }

    /// An array of values and its length (NULL and 0 when empty).
    pub(crate) fn array<T: 'static>(&mut self, items: Vec<T>) -> (*const T, usize) {
        if items.is_empty() {
            return (std::ptr::null(), 0);
        }
        let (p, n) = (items.as_ptr(), items.len());
        self.kept.push(Box::new(items));
        (p, n)
    }

    /// One value, by pointer; NULL for `None`.
    pub(crate) fn one<T: 'static>(&mut self, value: Option<T>) -> *const T {
        let Some(value) = value else { return std::ptr::null() };
        let boxed = Box::new(value);
        let p: *const T = &*boxed;
        self.kept.push(boxed);
        p
    }

    /// Metadata as two arrays, keys (sorted) and their values, and their length.
    pub(crate) fn metadata(
        &mut self,
        map: &std::collections::HashMap<String, String>,
    ) -> (*const *const c_char, *const *const c_char, usize) {
        let mut entries: Vec<(&String, &String)> = map.iter().collect();
        entries.sort();
        let (keys, count) = self.texts(entries.iter().map(|(k, _)| k.as_str()));
        let (values, _) = self.texts(entries.iter().map(|(_, v)| v.as_str()));
        (keys, values, count)
    }
}

/// A struct C reads directly (account info, object info) followed by the arena its pointers
/// point into: repr(C) with the struct first, so a pointer to the whole is a pointer to it.
#[repr(C)]
struct Owned<T> {
    value: T,
    _arena: CArena,
}

/// Hands `value` (its pointers into `arena`) to C as a pointer to it; → [`free_owned`].
pub(crate) fn owned_raw<T>(value: T, arena: CArena) -> *mut T {
    Box::into_raw(Box::new(Owned { value, _arena: arena })).cast()
}

/// Frees what [`owned_raw`] handed out; NULL is a no-op.
///
/// Relies on C's contract (see `capi`): `p` is NULL or came from `owned_raw::<T>`, once.
pub(crate) fn free_owned<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: C's contract, as stated above: the start of a boxed `Owned<T>`.
        drop(unsafe { Box::from_raw(p.cast::<Owned<T>>()) });
    }
}

/// A duration in whole milliseconds, saturated.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A time as nanoseconds since the Unix epoch (0 if it does not fit).
pub(crate) fn nanos_since_epoch(t: async_nats::datetime::DateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}
