//! JetStream: the context and publishing, streams, consumers, key-value buckets, object
//! stores.

pub(crate) mod acks;
pub(crate) mod consumer;
pub(crate) mod context;
pub(crate) mod kv;
pub(crate) mod object_store;
pub(crate) mod stream;
