//! `nats_pub_ack_*`: a JetStream publish acknowledgement.

use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::strings::c_string;
use crate::client::jetstream::context::PublishAck;
use std::ffi::{c_char, CString};

/// A publish acknowledgement: the stream that stored the message, its sequence there, and
/// whether it was a duplicate (same msg_id within the duplicate window: not stored again).
/// Freed with `nats_pub_ack_free` when returned by `nats_jetstream_publish*`; borrowed for the
/// call when passed to an async ack callback.
///
/// Functions: `nats_jetstream_publish`, `nats_jetstream_publish_msg`, `nats_pub_ack_stream`,
/// `nats_pub_ack_domain`, `nats_pub_ack_sequence`, `nats_pub_ack_duplicate`, `nats_pub_ack_free`.
pub struct nats_pub_ack {
    _private: [u8; 0],
}

// C owns a `nats_pub_ack` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_pub_ack {
    type Rust = CPubAck;
}
impl BoxHandle for nats_pub_ack {}

/// An acknowledgement with its strings NUL-terminated for C.
pub(crate) struct CPubAck {
    stream: CString,
    domain: CString,
    sequence: u64,
    duplicate: bool,
}

impl From<PublishAck> for CPubAck {
    fn from(a: PublishAck) -> Self {
        CPubAck {
            stream: c_string(&a.stream),
            domain: c_string(&a.domain),
            sequence: a.sequence,
            duplicate: a.duplicate,
        }
    }
}

/// The handle of an ack C borrows for the length of a callback.
pub(crate) fn borrowed_ack(a: &CPubAck) -> *const nats_pub_ack {
    (a as *const CPubAck).cast()
}

/// The stream that stored the message (borrowed from the ack); "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_stream(ack: *const nats_pub_ack) -> *const c_char {
    read_or(ack, c"".as_ptr(), |a| a.stream.as_ptr())
}

/// The JetStream domain of the stream; "" when none or for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_domain(ack: *const nats_pub_ack) -> *const c_char {
    read_or(ack, c"".as_ptr(), |a| a.domain.as_ptr())
}

/// The message's sequence number in the stream (for a duplicate: the original's); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_sequence(ack: *const nats_pub_ack) -> u64 {
    read(ack, |a| a.sequence)
}

/// True when the stream had already stored a message with this msg_id (not stored again).
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_duplicate(ack: *const nats_pub_ack) -> bool {
    read(ack, |a| a.duplicate)
}

/// Frees an ack returned by `nats_jetstream_publish*`. NULL is a no-op. Never free the ack
/// lent to an async callback.
#[no_mangle]
pub unsafe extern "C" fn nats_pub_ack_free(ack: *mut nats_pub_ack) {
    guard_void(|| {
        free_box(ack);
    })
}
