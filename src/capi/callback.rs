//! The one form of a C callback: the function, the user's pointer, and (optionally) the
//! function that releases that pointer.

use std::ffi::c_void;

/// Called exactly once with `user_data` after the last callback of a subscription has
/// returned (after unsubscribe/free, or once the connection closed and queued messages were
/// delivered). Frees whatever `user_data` holds.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C function with its `user_data`. Once the library has taken ownership of `user_data`
/// ([`CCallback::own`]), dropping the callback calls `free(user_data)` exactly once — after
/// the last call, since calls borrow it. Until then (a call that fails before taking it),
/// dropping it leaves `user_data` to the caller, as the header promises.
pub(crate) struct CCallback<F: Copy> {
    f: F,
    user_data: *mut c_void,
    free: nats_user_data_free,
    owned: bool,
}

// SAFETY: the pointer is only ever handed back to the user's own functions. The header states
// that callbacks run on library threads, so `user_data` must be usable from any thread (as
// with nats.c); `F` is a plain `extern "C"` function pointer.
unsafe impl<F: Copy + Send> Send for CCallback<F> {}
unsafe impl<F: Copy + Sync> Sync for CCallback<F> {}

impl<F: Copy> CCallback<F> {
    /// A callback whose `user_data` is released with `free` (may be `None`) once owned.
    pub(crate) fn new(f: F, user_data: *mut c_void, free: nats_user_data_free) -> Self {
        CCallback { f, user_data, free, owned: false }
    }

    /// A callback whose `user_data` the library never releases (event, reply and ack
    /// callbacks: the user keeps it alive while the options or connection live).
    pub(crate) fn lent(f: F, user_data: *mut c_void) -> Self {
        Self::new(f, user_data, None)
    }

    /// The library now owns `user_data`: dropping this calls `free` once.
    pub(crate) fn own(&mut self) {
        self.owned = true;
    }

    /// The function to call (with [`CCallback::user_data`] as its first argument).
    pub(crate) fn f(&self) -> F {
        self.f
    }

    pub(crate) fn user_data(&self) -> *mut c_void {
        self.user_data
    }
}

impl<F: Copy> Drop for CCallback<F> {
    fn drop(&mut self) {
        if let (true, Some(free)) = (self.owned, self.free.take()) {
            // SAFETY: the user's release function with the user's pointer, once (`take`),
            // after the last call: every call borrows this callback.
            unsafe { free(self.user_data) }
        }
    }
}

impl<F: Copy> std::fmt::Debug for CCallback<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CCallback").field("user_data", &self.user_data).field("owned", &self.owned).finish()
    }
}
