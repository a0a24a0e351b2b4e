//! A subscription whose callback records every message, for tests.
#![allow(dead_code, clippy::type_complexity)]

use super::*;
use nats_ffi::*;
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

/// One message a recording callback saw.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub subject: String,
    pub reply: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
pub struct Received {
    pub msgs: Mutex<Vec<Recorded>>,
}

impl Received {
    pub fn count(&self) -> usize {
        self.msgs.lock().unwrap().len()
    }
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.msgs.lock().unwrap().iter().map(|m| m.data.clone()).collect()
    }
}

unsafe extern "C" fn record(ud: *mut c_void, _sub: *mut nats_subscription, msg: *const nats_msg) {
    let r = &*(ud as *const Received);
    let subject = CStr::from_ptr(nats_msg_subject(msg)).to_str().unwrap().to_string();
    // Tolerate a lock poisoned by a failed assertion: a panic here would abort the binary and hide it.
    r.msgs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Recorded {
        subject,
        reply: msg_reply(msg),
        data: msg_data(msg),
    });
}

unsafe extern "C" fn release(ud: *mut c_void) {
    drop(Arc::from_raw(ud as *const Received));
}

/// A subscription whose callback records every message.
pub struct Sub {
    handle: Owned<nats_subscription>,
    received: Arc<Received>,
}

impl Sub {
    /// Subscribes (queue may be empty for none) with a recording callback.
    pub fn new(conn: &Conn, subject: &str, queue: &str) -> Sub {
        let rec = Arc::new(Received::default());
        let ud = Arc::into_raw(rec.clone()) as *mut c_void;
        let s = cs(subject);
        let q = cs(queue);
        let qp = if queue.is_empty() { std::ptr::null() } else { q.as_ptr() };
        let mut out = std::ptr::null_mut();
        ok(unsafe { nats_subscribe_ex(conn.raw(), s.as_ptr(), qp, Some(record), ud, Some(release), &mut out) });
        Sub { handle: Owned::from_raw(out), received: rec }
    }

    /// The handle, for calls into the C API.
    pub fn raw(&self) -> *mut nats_subscription {
        self.handle.raw()
    }

    /// What the callback has recorded so far.
    pub fn received(&self) -> &Received {
        &self.received
    }

    pub fn count(&self) -> usize {
        self.received.count()
    }

    pub fn wait_count(&self, n: usize, limit: Duration) -> bool {
        wait_until(limit, || self.count() >= n)
    }
}
