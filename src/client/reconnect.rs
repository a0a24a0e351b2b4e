//! Staying connected: the wait before each reconnect attempt, the pinger enforcing
//! max_pings_out, watching for servers the cluster advertises, and credentials embedded in
//! server URLs.

use crate::client::connection::{probe, wait_closed};
use crate::client::events::{self, Event, EventSender, Raw, ReconnectDelay};
use crate::client::publish::Outbox;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// How long to wait before reconnect attempt `attempts` (1 = the first after a loss).
pub(crate) struct Backoff {
    pub wait: Option<Duration>,
    pub jitter: Duration,
    pub custom: Option<ReconnectDelay>,
    /// Servers in the pool: until the first connection, one pass over all of them is the
    /// initial connect, which tries each at once (connection_timeout each, as the header
    /// promises); the delays are for reconnecting and for later passes.
    pub servers: usize,
    /// The client's counters, once `connect` returned it: its connect count tells whether
    /// the pool was ever reached. (async-nats' Connected event would be too late: it arrives
    /// asynchronously, possibly after a quick loss and the first reconnect attempt.)
    pub stats: Arc<OnceLock<Arc<async_nats::Statistics>>>,
    /// False: once connected, a lost connection closes instead of reconnecting.
    pub allow_reconnect: bool,
    /// Where the connection's events go, for the disconnected event of a loss that closes
    /// (sent from here, so that it comes before the closed event).
    pub events: Option<EventSender>,
}

/// A wait that never ends in practice: a closed connection's reconnect loop sleeps it.
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

impl Backoff {
    /// A closed connection's loop sleeps instead of dialing servers: async-nats offers no way
    /// to stop a reconnect loop.
    pub(crate) fn delay(&self, closed: &crate::client::connection::ClosedSignal, attempts: usize) -> Duration {
        if closed.is_set() {
            return NEVER;
        }
        let ever_connected = self.stats.get().is_some_and(|s| s.connects.load(Ordering::Relaxed) > 0);
        if !ever_connected && attempts <= self.servers {
            return Duration::ZERO;
        }
        if ever_connected && !self.allow_reconnect {
            // Asked before each attempt, so no attempt is made: the connection closes here.
            if let Some(tx) = &self.events {
                let _ = tx.send(Raw::Other(Event::Disconnected));
            }
            closed.set();
            return NEVER;
        }
        if let Some(h) = &self.custom {
            return events::custom_delay(h.clone(), attempts);
        }
        if attempts <= 1 {
            return Duration::ZERO;
        }
        match self.wait {
            Some(w) => w + random_up_to(self.jitter),
            // async-nats' default: 2, 4, 8 ... ms up to 4 s.
            None => {
                let exp: u32 = (attempts - 1).try_into().unwrap_or(u32::MAX);
                Duration::from_millis(2_u64.saturating_pow(exp)).min(Duration::from_secs(4))
            }
        }
    }
}

/// A pseudo-random duration in `[0, max]` (jitter only; not for anything secret).
fn random_up_to(max: Duration) -> Duration {
    let ms = max.as_millis() as u64;
    if ms == 0 {
        return Duration::ZERO;
    }
    let mut x =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            ^ (std::process::id() as u64) << 32;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    Duration::from_millis(x % (ms + 1))
}

/// Enforces max_pings_out when it differs from async-nats' built-in 2: every `interval` a
/// probe is sent; with `max` of them unanswered, the connection is dropped and re-established.
pub(crate) async fn pinger(
    client: async_nats::Client,
    outbox: Arc<Outbox>,
    interval: Duration,
    max: u32,
    mut closed: watch::Receiver<bool>,
) {
    let outstanding = Arc::new(AtomicU32::new(0));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wait_closed(&mut closed) => return,
        }
        if client.connection_state() != async_nats::connection::State::Connected {
            outstanding.store(0, Ordering::Relaxed);
            continue;
        }
        if outstanding.load(Ordering::Relaxed) >= max {
            outstanding.store(0, Ordering::Relaxed);
            let _ = client.force_reconnect().await;
            continue;
        }
        outstanding.fetch_add(1, Ordering::Relaxed);
        let (c, o, n) = (client.clone(), outbox.clone(), outstanding.clone());
        tokio::spawn(async move {
            if probe(&c, &o).await.is_ok() {
                let _ = n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
            }
        });
    }
}

/// Tells the event thread when the server pool gains servers the cluster advertised.
/// async-nats adds them when it (re)connects (it does not act on the INFO updates a server
/// sends in between), so that is when this notices them.
pub(crate) async fn watch_discovered(
    client: async_nats::Client,
    events: EventSender,
    mut closed: watch::Receiver<bool>,
) {
    let discovered = |pool: Vec<async_nats::Server>| -> std::collections::HashSet<String> {
        pool.into_iter().filter(|s| s.is_discovered).map(|s| format!("{}:{}", s.addr.host(), s.addr.port())).collect()
    };
    let mut known = discovered(client.server_pool().await.unwrap_or_default());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = wait_closed(&mut closed) => return,
        }
        let Ok(pool) = client.server_pool().await else { return };
        let mut new = false;
        for s in discovered(pool) {
            new |= known.insert(s);
        }
        if new && events.send(Raw::Other(Event::DiscoveredServers)).is_err() {
            return;
        }
    }
}

/// Decodes `%XX` escapes of URL user info.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Credentials embedded in the first URL that has any: `user:pass@` gives user/password,
/// a lone `token@` gives a token (as nats.c and nats.go do). Explicit setters win.
pub(crate) fn apply_url_credentials(
    co: async_nats::ConnectOptions,
    addrs: &[async_nats::ServerAddr],
) -> async_nats::ConnectOptions {
    for a in addrs {
        match (a.username(), a.password()) {
            (Some(u), Some(p)) => return co.user_and_password(percent_decode(u), percent_decode(p)),
            (Some(t), None) => return co.token(percent_decode(t)),
            _ => {}
        }
    }
    co
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_user_info() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%é%"), "%zz%é%");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
