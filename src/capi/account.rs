//! `nats_jetstream_account_info` and `nats_account_info_free`: the account's JetStream usage,
//! limits and tiers, as one struct C reads directly (nats.c's `jsAccountInfo`).

use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::status::*;
use crate::capi::view::{free_owned, owned_raw, CArena};
use async_nats::jetstream::account::{Account, Limits};
use std::ffi::c_char;

/// An account's JetStream limits; -1 means unlimited.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_account_limits {
    /// Most bytes of memory storage.
    pub max_memory: i64,
    /// Most bytes of file storage.
    pub max_storage: i64,
    /// Most streams.
    pub max_streams: i64,
    /// Most consumers.
    pub max_consumers: i64,
    /// Most unacknowledged messages per consumer; -1 or 0: unlimited.
    pub max_ack_pending: i64,
    /// Largest `max_bytes` a memory stream may have.
    pub memory_max_stream_bytes: i64,
    /// Largest `max_bytes` a file stream may have.
    pub storage_max_stream_bytes: i64,
    /// Streams must set `max_bytes`.
    pub max_bytes_required: bool,
}

/// Usage and limits of one tier (`R1`, `R3`, ... when the account has per-replica limits).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_account_tier {
    /// The tier's name.
    pub name: *const c_char,
    /// Bytes of memory storage used.
    pub memory: u64,
    /// Bytes of file storage used.
    pub storage: u64,
    /// Bytes of memory storage reserved.
    pub reserved_memory: u64,
    /// Bytes of file storage reserved.
    pub reserved_storage: u64,
    /// Streams.
    pub streams: u64,
    /// Consumers.
    pub consumers: u64,
    /// The tier's limits.
    pub limits: nats_account_limits,
}

/// The account's JetStream usage and limits, from `nats_jetstream_account_info`; freed with
/// `nats_account_info_free`. Read its fields directly; strings and `tiers` are owned by it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_account_info {
    /// Bytes of memory storage used.
    pub memory: u64,
    /// Bytes of file storage used.
    pub storage: u64,
    /// Bytes of memory storage reserved.
    pub reserved_memory: u64,
    /// Bytes of file storage reserved.
    pub reserved_storage: u64,
    /// Streams.
    pub streams: u64,
    /// Consumers.
    pub consumers: u64,
    /// The JetStream domain; "" when none.
    pub domain: *const c_char,
    /// The account's limits.
    pub limits: nats_account_limits,
    /// JetStream API requests made by the account.
    pub api_requests: u64,
    /// Of those, how many failed.
    pub api_errors: u64,
    /// Per-tier usage and limits (`tiers_count` entries; NULL and 0 when none).
    pub tiers: *const nats_account_tier,
    /// Number of entries of `tiers`.
    pub tiers_count: usize,
}

fn limits(l: &Limits) -> nats_account_limits {
    nats_account_limits {
        max_memory: l.max_memory.unwrap_or(-1),
        max_storage: l.max_storage.unwrap_or(-1),
        max_streams: l.max_streams.unwrap_or(-1),
        max_consumers: l.max_consumers.unwrap_or(-1),
        max_ack_pending: l.max_ack_pending,
        memory_max_stream_bytes: l.memory_max_stream_bytes.unwrap_or(-1),
        storage_max_stream_bytes: l.storage_max_stream_bytes.unwrap_or(-1),
        max_bytes_required: l.max_bytes_required,
    }
}

fn info_raw(a: &Account) -> *mut nats_account_info {
    let mut arena = CArena::default();
    let mut names: Vec<&String> = a.tiers.keys().collect();
    names.sort();
    let tiers: Vec<nats_account_tier> = names
        .into_iter()
        .map(|name| {
            let t = &a.tiers[name];
            nats_account_tier {
                name: arena.text(name),
                memory: t.memory,
                storage: t.storage,
                reserved_memory: t.reserved_memory,
                reserved_storage: t.reserved_storage,
                streams: t.streams as u64,
                consumers: t.consumers as u64,
                limits: limits(&t.limits),
            }
        })
        .collect();
    let (tiers, tiers_count) = arena.array(tiers);
    let info = nats_account_info {
        memory: a.memory,
        storage: a.storage,
        reserved_memory: a.reserved_memory,
        reserved_storage: a.reserved_storage,
        streams: a.streams as u64,
        consumers: a.consumers as u64,
        domain: arena.text(a.domain.as_deref().unwrap_or("")),
        limits: limits(&a.limits),
        api_requests: a.requests.total,
        api_errors: a.requests.errors,
        tiers,
        tiers_count,
    };
    owned_raw(info, arena)
}

/// Writes the account's JetStream usage and limits to `*info` (→ `nats_account_info_free`;
/// nats.c's `js_GetAccountInfo`). Blocks at most the context's timeout.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_NO_RESPONDERS` (JetStream not enabled for the
/// account), `NATS_ERR_JETSTREAM`, `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_account_info(
    js: *mut nats_jetstream,
    info: *mut *mut nats_account_info,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        crate::capi::args::out_arg(info, "info")?;
        crate::capi::args::write_out(info, info_raw(&j.account_info()?));
        Ok(())
    })
}

/// Frees what `nats_jetstream_account_info` wrote. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_account_info_free(info: *mut nats_account_info) {
    // The header lets only pointers from `nats_jetstream_account_info` come back, once.
    guard_void(|| free_owned(info))
}
