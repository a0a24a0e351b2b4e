//! JetStream: the context and publishing, streams, consumers, key-value buckets.

pub(crate) mod acks;
pub(crate) mod consumer;
pub(crate) mod context;
pub(crate) mod kv;
pub(crate) mod stream;
