//! JetStream test helpers: a JetStream-enabled server, a context, streams, publishing.
#![allow(dead_code)]

use super::*;
use nats_ffi::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

pub fn js_server() -> Server {
    let store = tempfile::tempdir().unwrap().keep();
    Server::start_with(&["-js", "-sd", store.to_str().unwrap()])
}

/// A JetStream server, a connection to it and a context on that connection.
pub fn js_setup() -> (Server, Conn, Js) {
    let server = js_server();
    let conn = Conn::to(&server.url());
    let context = js(&conn);
    (server, conn, context)
}

pub fn js(c: &Conn) -> Js {
    let mut j = null_mut();
    ok(unsafe { nats_jetstream_new(c.raw(), null(), &mut j) });
    Js::from_raw(j)
}

/// A stream configuration with the library's defaults (`nats_stream_config_init`).
pub fn stream_config() -> nats_stream_config {
    let mut cfg = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_stream_config_init(cfg.as_mut_ptr()) });
    unsafe { cfg.assume_init() }
}

/// A consumer configuration with the library's defaults (`nats_consumer_config_init`).
pub fn consumer_config() -> nats_ffi::nats_consumer_config {
    let mut cfg = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_ffi::nats_consumer_config_init(cfg.as_mut_ptr()) });
    unsafe { cfg.assume_init() }
}

/// A bucket configuration with the library's defaults for `bucket` (`nats_kv_config_init`).
pub fn kv_config_for(bucket: &std::ffi::CStr) -> nats_ffi::nats_kv_config {
    let mut cfg = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_ffi::nats_kv_config_init(cfg.as_mut_ptr()) });
    let mut cfg: nats_ffi::nats_kv_config = unsafe { cfg.assume_init() };
    cfg.bucket = bucket.as_ptr();
    cfg
}

pub fn create_stream(j: &Js, name: &str, subjects: &[&str], dup_window_ms: u64) {
    let n = cs(name);
    let subs: Vec<_> = subjects.iter().map(|s| cs(s)).collect();
    let ptrs: Vec<*const c_char> = subs.iter().map(|s| s.as_ptr()).collect();
    let mut cfg = stream_config();
    cfg.name = n.as_ptr();
    cfg.subjects = ptrs.as_ptr();
    cfg.subjects_count = ptrs.len();
    cfg.storage = nats_storage::NATS_STORAGE_MEMORY as i32;
    cfg.duplicate_window_ms = dup_window_ms;
    let mut info = null_mut();
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, &mut info) });
    unsafe {
        assert_eq!(CStr::from_ptr(nats_stream_info_name(info)).to_str().unwrap(), name);
        let (mut s, mut k): (*const *const c_char, usize) = (null(), 0);
        ok(nats_stream_info_subjects(info, &mut s, &mut k));
        assert_eq!(k, subjects.len());
        nats_stream_info_free(info);
    }
}

pub fn publish(
    j: &Js,
    subject: &str,
    data: &[u8],
    o: Option<&nats_js_publish_options>,
) -> Result<(String, u64, bool), nats_status> {
    let s = cs(subject);
    let mut ack = null_mut();
    let st = unsafe {
        nats_jetstream_publish(
            j.raw(),
            s.as_ptr(),
            data.as_ptr().cast(),
            data.len(),
            o.map_or(null(), |o| o as *const _),
            &mut ack,
        )
    };
    if st != NATS_OK {
        assert!(ack.is_null());
        return Err(st);
    }
    unsafe {
        let r = (
            CStr::from_ptr(nats_pub_ack_stream(ack)).to_str().unwrap().to_string(),
            nats_pub_ack_sequence(ack),
            nats_pub_ack_duplicate(ack),
        );
        nats_pub_ack_free(ack);
        Ok(r)
    }
}

/// Publish options with a msg-id (so retrying is safe), an ack timeout and retries.
pub fn retrying_popts(msg_id: &CStr, timeout_ms: u64, max_retries: u32, retry_wait_ms: u64) -> nats_js_publish_options {
    nats_js_publish_options { msg_id: msg_id.as_ptr(), timeout_ms, max_retries, retry_wait_ms, ..popts() }
}

pub fn popts() -> nats_js_publish_options {
    nats_js_publish_options {
        msg_id: null(),
        expected_stream: null(),
        expected_last_msg_id: null(),
        expected_last_sequence: 0,
        has_expected_last_sequence: false,
        expected_last_subject_sequence: 0,
        has_expected_last_subject_sequence: false,
        timeout_ms: 0,
        max_retries: 0,
        retry_wait_ms: 0,
    }
}

pub fn info(j: &Js, name: &str) -> (u64, u64, u64) {
    let n = cs(name);
    let mut i = null_mut();
    ok(unsafe { nats_jetstream_stream_info(j.raw(), n.as_ptr(), &mut i) });
    unsafe {
        let r = (nats_stream_info_messages(i), nats_stream_info_first_seq(i), nats_stream_info_last_seq(i));
        nats_stream_info_free(i);
        r
    }
}
