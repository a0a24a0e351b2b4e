//! The C boundary: every `extern "C"` function of the library, one file per C type (the rule
//! is in README.md, "Contributing: where things live"), over the machinery they share:
//! [`guard`] (the panic boundary), [`args`] (readers for what C passes in), [`handle`] (how
//! each handle is owned, borrowed and freed), [`callback`] (a C function with its
//! `user_data`), [`status`] and [`strings`].
//!
//! # C's contract
//! The header states what every pointer argument must be: NULL (where allowed) or valid for
//! the call — a live handle of the right type, a NUL-terminated string, `len` readable bytes,
//! a writable out-parameter. The readers in `args` and `handle` rely on that contract, as
//! rustls-ffi's `Castable` functions do: they are safe functions, each `unsafe` operation in
//! them carries a SAFETY comment naming what the contract guarantees, and they are only ever
//! called with pointers received from C. The exported functions stay `unsafe extern "C"` so
//! that Rust callers (the tests) see that the contract is theirs to keep; that contract is
//! their `# Safety` section, stated once here and in the header rather than on each.
// C names: `nats_connection`, `nats_status`, ... as the header spells them.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod account;
pub(crate) mod args;
pub(crate) mod callback;
pub(crate) mod connection;
pub(crate) mod consumer;
pub(crate) mod consumer_config;
pub(crate) mod delivery;
pub(crate) mod events;
pub(crate) mod guard;
pub(crate) mod handle;
pub(crate) mod jetstream;
pub(crate) mod kv;
pub(crate) mod lifecycle;
pub(crate) mod msg;
pub(crate) mod nkeys;
pub(crate) mod object_store;
pub(crate) mod options;
pub(crate) mod pub_ack;
pub(crate) mod server_info;
pub(crate) mod service;
pub(crate) mod status;
pub(crate) mod stream;
pub(crate) mod stream_config;
pub(crate) mod strings;
pub(crate) mod subscription;
pub(crate) mod version;
pub(crate) mod view;
