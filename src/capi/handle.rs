//! The one way to hand a handle to C, borrow it back, clone it and free it.
//!
//! Every C handle type declares how C owns it, as in rustls-ffi's `Castable`:
//! - [`BoxHandle`]: one owner (`nats_options`, messages, info snapshots, …). Created with
//!   [`box_out`], borrowed with [`borrow`] / [`borrow_mut`], freed with [`free_box`].
//! - [`ArcHandle`]: shared (`nats_connection`, `nats_subscription`, `nats_jetstream`): a
//!   callback in flight, a drain and the user's `_free` each hold a reference, so none can
//!   free it under another. Created with [`arc_out`], borrowed with [`borrow`], cloned with
//!   [`clone_arc`], released with [`free_arc`].
//!
//! Using a Box function on an Arc handle (or the reverse) does not compile. `Rust` is the value
//! a handle stands for: the C type is then an opaque name (`struct nats_options { _private:
//! [u8; 0] }`) for a client value (`client::options::Options`), as in rustls-ffi.

use crate::capi::args::null;
use crate::client::error::*;
use std::sync::Arc;

/// A C handle type and the Rust value it stands for.
pub(crate) trait Castable: Sized {
    type Rust;
}

/// A handle C owns through one `Box`.
pub(crate) trait BoxHandle: Castable {}

/// A handle C shares through an `Arc`: the pointer C holds is one strong reference.
pub(crate) trait ArcHandle: Castable {}

/// Borrows the value behind a handle of either kind; NULL is `NATS_ERR_NULL_ARGUMENT` naming
/// the argument.
///
/// Relies on C's contract (see `capi`): `p` must be NULL or a live handle of this type, not freed while the borrow lasts.
pub(crate) fn borrow<'a, T: Castable>(p: *const T, name: &str) -> Result<&'a T::Rust> {
    borrow_opt(p).ok_or_else(|| null(name))
}

/// Borrows the value behind a handle that may be NULL (accessors that document a value for
/// NULL).
pub(crate) fn borrow_opt<'a, T: Castable>(p: *const T) -> Option<&'a T::Rust> {
    // SAFETY: C's contract: `p` is NULL or a live handle for 'a; a handle points at its Rust
    // value (see `box_raw` / `arc_raw`).
    unsafe { p.cast::<T::Rust>().as_ref() }
}

/// Borrows the value behind a Box handle for changing it.
///
/// Relies on C's contract (see `capi`): As [`borrow`], and no other reference to it may exist while the borrow lasts (the header
/// says such handles are not to be used from two threads at once).
pub(crate) fn borrow_mut<'a, T: BoxHandle>(p: *mut T, name: &str) -> Result<&'a mut T::Rust> {
    // SAFETY: C's contract, as stated above.
    unsafe { p.cast::<T::Rust>().as_mut() }.ok_or_else(|| null(name))
}

/// Hands a new Box handle to C through an out-parameter.
///
/// Relies on C's contract (see `capi`): `out` must be valid for a write (checked non-NULL before the work was done).
pub(crate) fn box_out<T: BoxHandle>(out: *mut *mut T, value: T::Rust) {
    // SAFETY: C's contract, as stated above; C now owns the box until `free_box`.
    unsafe { out.write(box_raw(value)) }
}

/// The raw pointer of a new Box handle (for arrays of handles C frees one by one).
pub(crate) fn box_raw<T: BoxHandle>(value: T::Rust) -> *mut T {
    Box::into_raw(Box::new(value)).cast()
}

/// Frees a Box handle; NULL is a no-op.
///
/// Relies on C's contract (see `capi`): `p` must be NULL or a handle from [`box_out`] / [`box_raw`] not freed before.
pub(crate) fn free_box<T: BoxHandle>(p: *mut T) {
    drop(take_box(p));
}

/// The raw pointer of a new Arc handle: C holds one strong reference.
pub(crate) fn arc_raw<T: ArcHandle>(value: Arc<T::Rust>) -> *mut T {
    Arc::into_raw(value).cast_mut().cast()
}

/// The handle C knows for a value it already holds (a callback's `conn` or `sub` argument).
pub(crate) fn arc_ptr<T: ArcHandle>(value: &Arc<T::Rust>) -> *mut T {
    Arc::as_ptr(value).cast_mut().cast()
}

/// Hands an Arc handle to C through an out-parameter.
///
/// Relies on C's contract (see `capi`): `out` must be valid for a write.
pub(crate) fn arc_out<T: ArcHandle>(out: *mut *mut T, value: Arc<T::Rust>) {
    // SAFETY: C's contract, as stated above.
    unsafe { out.write(arc_raw(value)) }
}

/// A new strong reference to the value behind an Arc handle, leaving C's own in place.
///
/// Relies on C's contract (see `capi`): `p` must be NULL or a live handle from [`arc_out`] / [`arc_raw`].
pub(crate) fn clone_arc<T: ArcHandle>(p: *const T, name: &str) -> Result<Arc<T::Rust>> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: `p` came from `Arc::into_raw` and C's reference keeps it alive; taking one
    // more reference before rebuilding an Arc leaves C's count untouched.
    unsafe {
        let p = p.cast::<T::Rust>();
        Arc::increment_strong_count(p);
        Ok(Arc::from_raw(p))
    }
}

/// Takes back C's reference of an Arc handle (the value lives on while others hold it);
/// `None` for NULL.
///
/// Relies on C's contract (see `capi`): `p` must be NULL or a handle from [`arc_out`] / [`arc_raw`] whose reference C has not
/// given back before.
pub(crate) fn free_arc<T: ArcHandle>(p: *mut T) -> Option<Arc<T::Rust>> {
    // SAFETY: C's contract, as stated above: C gives its reference back, exactly once.
    (!p.is_null()).then(|| unsafe { Arc::from_raw(p.cast_const().cast::<T::Rust>()) })
}

/// Takes back a Box handle (to act on it before it is dropped); `None` for NULL.
///
/// Relies on C's contract (see `capi`): As [`free_box`].
pub(crate) fn take_box<T: BoxHandle>(p: *mut T) -> Option<Box<T::Rust>> {
    // SAFETY: C's contract, as stated above: C gives its box back.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p.cast::<T::Rust>()) })
}

/// An array of new Box handles for C: `(array, count)`, the array itself boxed; released with
/// [`free_box_array`] (`nats_msgs_free`, `nats_kv_entries_free`).
pub(crate) fn box_array<T: BoxHandle>(list: Vec<T::Rust>) -> (*mut *mut T, usize) {
    let handles: Box<[*mut T]> = list.into_iter().map(box_raw::<T>).collect();
    let count = handles.len();
    (Box::into_raw(handles).cast(), count)
}

/// Frees an array from [`box_array`] and every handle still in it (C may set an entry to
/// NULL to keep that handle); NULL is a no-op.
///
/// Relies on C's contract (see `capi`): `list` must be NULL or an array from [`box_array`] with its `count`, not freed before;
/// each non-NULL entry a handle not freed before.
pub(crate) fn free_box_array<T: BoxHandle>(list: *mut *mut T, count: usize) {
    if list.is_null() {
        return;
    }
    // SAFETY: C's contract, as stated above: the array and its handles come back to us.
    let handles = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(list, count)) };
    for &h in handles.iter() {
        // Each entry is NULL or a live handle from `box_raw` (C's contract).
        free_box(h);
    }
}
