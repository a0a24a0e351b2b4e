//! Stopping the library as a whole (`nats_ffi_shutdown`), for plugins that get unloaded and
//! for leak checkers: every connection closed, the delivery threads ended, the shared pool and
//! the runtime stopped. The next connect starts everything anew.

use crate::client::connection;
use crate::client::delivery;
use crate::client::error::*;
use crate::client::runtime;
use std::time::{Duration, Instant};

/// At least this long for the pool and the runtime to stop, even when `limit` was used up.
const STOP_AT_LEAST: Duration = Duration::from_millis(200);

/// Closes every open connection, waits at most `limit` for the delivery threads to end, then
/// stops the shared pool and the runtime. `Err(TIMEOUT)` when delivery threads still run:
/// they belong to handles the application still holds.
pub(crate) fn shutdown(limit: Duration) -> Result<()> {
    runtime::refuse_on_runtime("nats_ffi_shutdown")?;
    if delivery::on_delivery_thread() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "nats_ffi_shutdown cannot be called from a callback: it waits for the callback threads to end",
        ));
    }
    let deadline = runtime::deadline_after(limit);
    let left = || deadline.saturating_duration_since(Instant::now());
    connection::close_all(limit);
    // What was queued is still delivered; then the closed connections' threads end.
    delivery::wait_for_threads(delivery::pool_threads(), left());
    delivery::stop_pool();
    runtime::shutdown(left().max(STOP_AT_LEAST))?;
    let running = delivery::wait_for_threads(0, left().max(STOP_AT_LEAST));
    delivery::join_ended_threads();
    if running > 0 {
        return Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "{running} delivery thread(s) still run after {} ms: they belong to handles not freed yet (a \
                 connection's async-reply lane, a JetStream context's acknowledgement lane, a KV watcher, or a \
                 callback that has not returned) and end once those are freed",
                limit.as_millis()
            ),
        ));
    }
    Ok(())
}
