//! The tests' one typed wrapper over C handles: `Owned<T>` holds a handle the test owns and
//! frees it on drop; `raw()` is the pointer to pass to the C API.
#![allow(dead_code)]

use nats_ffi::*;

/// A C handle type and the function that releases it.
pub trait Free {
    /// # Safety
    /// `p` must be a handle of this type the caller owns, or NULL.
    unsafe fn free(p: *mut Self);
}

macro_rules! free_with {
    ($($t:ty => $f:ident),+ $(,)?) => {
        $(impl Free for $t {
            unsafe fn free(p: *mut Self) {
                unsafe { $f(p) }
            }
        })+
    };
}

free_with!(
    nats_options => nats_options_free,
    nats_connection => nats_connection_free,
    nats_subscription => nats_subscription_free,
    nats_msg => nats_msg_free,
    nats_jetstream => nats_jetstream_free,
    nats_kv => nats_kv_free,
    nats_pull_consumer => nats_pull_consumer_free,
    nats_dispatcher => nats_dispatcher_free,
    nats_service => nats_service_free,
);

/// A handle the test owns, freed when dropped.
pub struct Owned<T: Free> {
    raw: *mut T,
}

// The handles the tests share between threads (connections, contexts) are thread safe, as
// the header states; the others stay on one thread.
unsafe impl<T: Free> Send for Owned<T> {}
unsafe impl<T: Free> Sync for Owned<T> {}

impl<T: Free> Owned<T> {
    /// Takes ownership of a handle the C API wrote to an out-parameter.
    pub fn from_raw(raw: *mut T) -> Self {
        Owned { raw }
    }

    /// The handle, for calls into the C API.
    pub fn raw(&self) -> *mut T {
        self.raw
    }

    /// Gives the handle up without freeing it.
    pub fn into_raw(self) -> *mut T {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }
}

impl<T: Free> Drop for Owned<T> {
    fn drop(&mut self) {
        unsafe { T::free(self.raw) }
    }
}

pub type Opts = Owned<nats_options>;
pub type Conn = Owned<nats_connection>;
pub type Msg = Owned<nats_msg>;
pub type Js = Owned<nats_jetstream>;
pub type Kv = Owned<nats_kv>;
pub type Pull = Owned<nats_pull_consumer>;
pub type Dispatcher = Owned<nats_dispatcher>;
