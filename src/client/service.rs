//! Services: request handlers that other clients discover, the NATS micro protocol (ADR-32,
//! as nats.go's `micro`, nats.c's `micro` and async-nats' `service` speak it).
//!
//! A service is a name, a semver version and a unique id. Each endpoint is a queue
//! subscription (group `q` unless configured) whose handler answers requests; the library
//! counts its requests, errors and processing time. The service answers the discovery
//! requests `$SRV.PING|INFO|STATS`, `$SRV.<verb>.<name>` and `$SRV.<verb>.<name>.<id>` itself,
//! on the runtime (no application code runs there), except STATS with a stats-data handler:
//! that handler is application code, so those requests are answered on a lane of the
//! connection's executor.

use crate::client::connection::Connection;
use crate::client::delivery::jobs::{JobQueue, JobSender};
use crate::client::delivery::MessageHandler;
use crate::client::error::*;
use crate::client::message::{header_value, Message};
use crate::client::runtime;
use crate::client::subject::{check_queue, check_subject, Wildcards};
use crate::client::subscription::Subscription;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::oneshot;

/// The header carrying an error response's description.
pub(crate) const ERROR_HEADER: &str = "Nats-Service-Error";
/// The header carrying an error response's code.
pub(crate) const ERROR_CODE_HEADER: &str = "Nats-Service-Error-Code";
/// The queue group of endpoints that name none, as in every micro implementation.
pub(crate) const DEFAULT_QUEUE_GROUP: &str = "q";
const VERBS: [&str; 3] = ["PING", "INFO", "STATS"];

thread_local! {
    /// True while this thread runs a stats-data handler.
    static IN_STATS_DATA: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What a service is added with.
pub(crate) struct ServiceConfig {
    pub name: String,
    pub version: String,
    pub description: String,
    pub metadata: HashMap<String, String>,
    /// The endpoints' queue group unless a group or an endpoint names another.
    pub queue_group: Option<String>,
    /// Adds application data to each endpoint's STATS entry.
    pub stats_data: Option<Box<dyn StatsData>>,
}

/// Application data for the `data` field of an endpoint's STATS entry.
pub(crate) trait StatsData: Send + 'static {
    /// The data for `endpoint`; `None`: no `data` field.
    fn data(&mut self, endpoint: &EndpointStats) -> Option<Value>;
}

/// What an endpoint does with each request.
pub(crate) trait RequestHandler: Send + 'static {
    /// The endpoint exists: from here on the handler owns what it holds.
    fn accepted(&mut self);

    /// One request, in the order received; `responder` answers it.
    fn on_request(&mut self, request: Message, responder: &Responder);
}

/// What an endpoint is added with.
pub(crate) struct EndpointConfig {
    /// Its name in INFO and STATS: letters, digits, `-` and `_`.
    pub name: String,
    /// The subject (after the group's prefix); `None`: the name.
    pub subject: Option<String>,
    /// `None`: the group's, else the service's, else `q`.
    pub queue_group: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// A subject prefix and queue group that endpoints added through it share.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    prefix: String,
    queue_group: Option<String>,
}

/// One endpoint's counters, as STATS reports them.
#[derive(Clone, Debug, Default)]
pub(crate) struct EndpointStats {
    pub name: String,
    pub subject: String,
    pub queue_group: String,
    pub requests: u64,
    pub errors: u64,
    /// Time spent in the handler, summed over the requests.
    pub processing: Duration,
    /// `<code>:<description>` of the last error response; empty for none.
    pub last_error: String,
}

impl EndpointStats {
    pub(crate) fn average_processing(&self) -> Duration {
        match u32::try_from(self.requests) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.processing / n,
            Err(_) => Duration::from_nanos((self.processing.as_nanos() / u128::from(self.requests)) as u64),
        }
    }

    fn reset(&mut self) {
        self.requests = 0;
        self.errors = 0;
        self.processing = Duration::ZERO;
        self.last_error.clear();
    }

    fn to_json(&self, data: Option<Value>) -> Value {
        let mut v = json!({
            "name": self.name,
            "subject": self.subject,
            "queue_group": self.queue_group,
            "num_requests": self.requests,
            "num_errors": self.errors,
            "last_error": self.last_error,
            "processing_time": nanos(self.processing),
            "average_processing_time": nanos(self.average_processing()),
        });
        if let Some(data) = data {
            v["data"] = data;
        }
        v
    }
}

/// A service's counters at one moment.
#[derive(Clone, Debug)]
pub(crate) struct ServiceStats {
    pub started: SystemTime,
    pub endpoints: Vec<(EndpointStats, Option<Value>)>,
}

/// Answers one request: a response, or an error response (the standard error headers).
pub(crate) struct Responder<'a> {
    conn: &'a Connection,
    reply: Option<async_nats::Subject>,
    /// `<code>:<description>` of the error response sent, if one was.
    failure: Mutex<Option<String>>,
}

impl Responder<'_> {
    fn reply(&self) -> Result<&str> {
        self.reply.as_deref().ok_or_else(|| {
            Error::new(ErrorKind::NoReplySubject, "the request has no reply subject: nothing to respond to")
        })
    }

    /// Sends `data` (with `headers`, if any) to the requester.
    pub(crate) fn respond(&self, headers: Option<&async_nats::HeaderMap>, data: &[u8]) -> Result<()> {
        self.conn.publish_frame(self.reply()?, None, headers, data)
    }

    /// Sends an error response: `Nats-Service-Error: description` and
    /// `Nats-Service-Error-Code: code` (over any of `headers` of those names), with `data`.
    /// The endpoint counts the request as an error, this one as its last error.
    pub(crate) fn respond_error(
        &self,
        code: i32,
        description: &str,
        headers: Option<&async_nats::HeaderMap>,
        data: &[u8],
    ) -> Result<()> {
        if description.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "an error response needs a description"));
        }
        let described = header_value(description)?;
        let reply = self.reply()?;
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{code}:{description}"));
        let mut all = headers.cloned().unwrap_or_default();
        all.insert(ERROR_HEADER, described);
        all.insert(ERROR_CODE_HEADER, code.to_string().as_str());
        self.conn.publish_frame(reply, None, Some(&all), data)
    }
}

/// Name rule of services and endpoints (ADR-32): letters, digits, `-` and `_`.
fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{what} {name:?} must be letters, digits, '-' and '_' (and not empty)"),
        ));
    }
    Ok(())
}

/// Whether `v` is a semantic version 2.0 (`MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`).
fn is_semver(v: &str) -> bool {
    let numeric = |s: &str| s == "0" || (!s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()));
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let (rest, build) = v.split_once('+').map_or((v, None), |(r, b)| (r, Some(b)));
    let (core, pre) = rest.split_once('-').map_or((rest, None), |(c, p)| (c, Some(p)));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| p.split('.').all(|i| numeric(i) || (ident(i) && !i.bytes().all(|b| b.is_ascii_digit()))))
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// A duration in whole nanoseconds, saturated.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// An endpoint's counters, shared by its handler and the service.
#[derive(Default)]
struct Counters(Mutex<EndpointStats>);

impl Counters {
    fn lock(&self) -> MutexGuard<'_, EndpointStats> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An endpoint's subscription handler: the application's handler, timed and counted.
struct EndpointHandler {
    handler: Box<dyn RequestHandler>,
    counters: Arc<Counters>,
}

impl MessageHandler for EndpointHandler {
    fn accepted(mut self: Box<Self>) -> crate::client::delivery::Callback {
        self.handler.accepted();
        self
    }

    fn on_message(&mut self, sub: &Arc<Subscription>, msg: Message) {
        let started = Instant::now();
        let responder = Responder { conn: sub.connection(), reply: msg.inner.reply.clone(), failure: Mutex::new(None) };
        self.handler.on_request(msg, &responder);
        let failure = responder.failure.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut stats = self.counters.lock();
        stats.requests += 1;
        stats.processing += started.elapsed();
        if let Some(failure) = failure {
            stats.errors += 1;
            stats.last_error = failure;
        }
    }
}

struct Endpoint {
    counters: Arc<Counters>,
    metadata: HashMap<String, String>,
    sub: Arc<Subscription>,
}

/// What the service's handle, its discovery task and its stats lane share.
struct Shared {
    conn: Arc<Connection>,
    id: String,
    name: String,
    version: String,
    description: String,
    metadata: HashMap<String, String>,
    queue_group: String,
    state: Mutex<State>,
    /// Held by `add_endpoint` and `stop`, one at a time.
    adding: Mutex<()>,
    /// Apart from `state`: the application's handler may call back into the service.
    stats_data: Mutex<Option<Box<dyn StatsData>>>,
}

struct State {
    endpoints: Vec<Endpoint>,
    started: SystemTime,
    stopped: bool,
    /// Ends the discovery task; `None` once stopped.
    stop_discovery: Option<oneshot::Sender<()>>,
    /// The lane STATS requests with a stats-data handler are answered on.
    stats_lane: Option<JobQueue>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn identity(&self, kind: &str) -> Value {
        json!({
            "type": format!("io.nats.micro.v1.{kind}_response"),
            "name": self.name,
            "id": self.id,
            "version": self.version,
            "metadata": self.metadata,
        })
    }

    fn info_json(&self) -> Value {
        let mut v = self.identity("info");
        v["description"] = json!(self.description);
        v["endpoints"] = self
            .state()
            .endpoints
            .iter()
            .map(|e| {
                let s = e.counters.lock();
                json!({ "name": s.name, "subject": s.subject, "queue_group": s.queue_group, "metadata": e.metadata })
            })
            .collect();
        v
    }

    /// The counters now, with each endpoint's application data when `with_data`.
    fn stats(&self, with_data: bool) -> ServiceStats {
        let (started, counters) = {
            let state = self.state();
            (state.started, state.endpoints.iter().map(|e| e.counters.lock().clone()).collect::<Vec<_>>())
        };
        // Asked from inside the stats-data handler (it may read the service's stats): the
        // handler's lock is held by this thread, so the counters come without data.
        if !with_data || IN_STATS_DATA.get() {
            return ServiceStats { started, endpoints: counters.into_iter().map(|s| (s, None)).collect() };
        }
        let mut data = self.stats_data.lock().unwrap_or_else(|p| p.into_inner());
        IN_STATS_DATA.set(true);
        let endpoints = counters
            .into_iter()
            .map(|s| {
                let d = data.as_mut().and_then(|h| h.data(&s));
                (s, d)
            })
            .collect();
        IN_STATS_DATA.set(false);
        ServiceStats { started, endpoints }
    }

    fn stats_json(&self, stats: ServiceStats) -> Value {
        let mut v = self.identity("stats");
        v["started"] = json!(rfc3339(stats.started));
        v["endpoints"] = stats.endpoints.into_iter().map(|(s, d)| s.to_json(d)).collect();
        v
    }

    /// Answers one discovery request (on the runtime; STATS with application data is handed
    /// to `stats_lane`).
    fn answer(self: &Arc<Self>, request: async_nats::Message, stats_lane: Option<&JobSender>) {
        let Some(reply) = request.reply else { return };
        let verb = request.subject.split('.').nth(1).unwrap_or_default();
        let body = match verb {
            "PING" => self.identity("ping"),
            "INFO" => self.info_json(),
            "STATS" => match stats_lane {
                Some(lane) => {
                    let shared = self.clone();
                    lane.send(Box::new(move || {
                        let body = shared.stats_json(shared.stats(true));
                        let _ = shared.conn.publish(&reply, None, body.to_string().as_bytes());
                    }));
                    return;
                }
                None => self.stats_json(self.stats(false)),
            },
            _ => return,
        };
        // A reply lost to a full buffer is like one lost on the wire: the requester times out.
        let _ = self.conn.publish(&reply, None, body.to_string().as_bytes());
    }
}

/// A running service; stopped when dropped.
pub(crate) struct Service {
    shared: Arc<Shared>,
}

impl Service {
    /// Checks `config`, subscribes the discovery subjects and starts answering them.
    pub(crate) fn add(conn: Arc<Connection>, config: ServiceConfig) -> Result<Service> {
        conn.check_open()?;
        check_name(&config.name, "service name")?;
        if !is_semver(&config.version) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("service version {:?} is not a semantic version (MAJOR.MINOR.PATCH)", config.version),
            ));
        }
        if let Some(q) = &config.queue_group {
            check_queue(q)?;
        }
        let inbox = conn.new_inbox();
        let id = inbox.rsplit('.').next().unwrap_or(&inbox).to_string();
        let stats_lane = match config.stats_data {
            Some(_) => Some(JobQueue::start(&conn.executor, "nats-ffi-service")?),
            None => None,
        };
        let shared = Arc::new(Shared {
            id,
            name: config.name,
            version: config.version,
            description: config.description,
            metadata: config.metadata,
            queue_group: config.queue_group.unwrap_or_else(|| DEFAULT_QUEUE_GROUP.to_string()),
            state: Mutex::new(State {
                endpoints: Vec::new(),
                started: SystemTime::now(),
                stopped: false,
                stop_discovery: None,
                stats_lane: None,
            }),
            adding: Mutex::new(()),
            stats_data: Mutex::new(config.stats_data),
            conn,
        });
        let subscribers = shared.subscribe_discovery()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let lane_sender = stats_lane.as_ref().map(JobQueue::sender);
        {
            let mut state = shared.state();
            state.stop_discovery = Some(stop_tx);
            state.stats_lane = stats_lane;
        }
        let closed = shared.conn.closed.subscribe();
        shared.conn.handle.spawn(discover(shared.clone(), subscribers, stop_rx, lane_sender, closed));
        Ok(Service { shared })
    }

    /// The service's unique id (a NUID).
    pub(crate) fn id(&self) -> &str {
        &self.shared.id
    }

    pub(crate) fn name(&self) -> &str {
        &self.shared.name
    }

    pub(crate) fn version(&self) -> &str {
        &self.shared.version
    }

    /// A group under `parent` (or at the top): endpoints added through it get `prefix.` before
    /// their subject, and its queue group (else its parent's) unless they name one.
    pub(crate) fn group(&self, parent: Option<&Group>, name: &str, queue_group: Option<&str>) -> Result<Group> {
        check_subject(name, Wildcards::Allowed, "group name")?;
        if let Some(q) = queue_group {
            check_queue(q)?;
        }
        let prefix = match parent {
            Some(p) => format!("{}.{name}", p.prefix),
            None => name.to_string(),
        };
        let queue_group = queue_group.map(str::to_string).or_else(|| parent.and_then(|p| p.queue_group.clone()));
        Ok(Group { prefix, queue_group })
    }

    /// Subscribes an endpoint (in `group`, if given) whose requests `handler` answers.
    /// `Err` leaves `handler` unaccepted (its owner releases what it holds).
    pub(crate) fn add_endpoint(
        &self,
        group: Option<&Group>,
        config: EndpointConfig,
        handler: Box<dyn RequestHandler>,
    ) -> Result<()> {
        check_name(&config.name, "endpoint name")?;
        let own_subject = config.subject.unwrap_or_else(|| config.name.clone());
        let subject = match group {
            Some(g) => format!("{}.{own_subject}", g.prefix),
            None => own_subject,
        };
        check_subject(&subject, Wildcards::Allowed, "endpoint subject")?;
        let queue_group = config
            .queue_group
            .or_else(|| group.and_then(|g| g.queue_group.clone()))
            .unwrap_or_else(|| self.shared.queue_group.clone());
        check_queue(&queue_group)?;
        // Serializes adding with adding and stopping (not with discovery, which runs on the
        // runtime the subscribe waits for): a stop in between would miss this endpoint.
        let _adding = self.shared.adding.lock().unwrap_or_else(|p| p.into_inner());
        {
            let state = self.shared.state();
            if state.stopped {
                return Err(Error::new(ErrorKind::InvalidArgument, "the service was stopped"));
            }
            if state.endpoints.iter().any(|e| e.counters.lock().name == config.name) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("the service has an endpoint named {:?} already", config.name),
                ));
            }
        }
        let counters = Arc::new(Counters(Mutex::new(EndpointStats {
            name: config.name,
            subject: subject.clone(),
            queue_group: queue_group.clone(),
            ..EndpointStats::default()
        })));
        let handler = Box::new(EndpointHandler { handler, counters: counters.clone() });
        let sub = Subscription::subscribe(self.shared.conn.clone(), &subject, Some(&queue_group), Some(handler))?;
        sub.start_callbacks();
        self.shared.state().endpoints.push(Endpoint { counters, metadata: config.metadata, sub });
        Ok(())
    }

    /// Stops answering: discovery ends and each endpoint drains (requests already received are
    /// still handled). Waits at most `limit` for their handlers (zero: does not wait).
    /// `Err(TIMEOUT)` when some still run. Stopping again does nothing.
    pub(crate) fn stop(&self, limit: Duration) -> Result<()> {
        let subs: Vec<Arc<Subscription>> = {
            // Once marked stopped (under this lock), no endpoint is added after the list
            // below is taken.
            let _adding = self.shared.adding.lock().unwrap_or_else(|p| p.into_inner());
            let mut state = self.shared.state();
            if state.stopped {
                return Ok(());
            }
            state.stopped = true;
            if let Some(stop) = state.stop_discovery.take() {
                let _ = stop.send(());
            }
            // The lane ends once the STATS answers already queued ran.
            state.stats_lane = None;
            state.endpoints.iter().map(|e| e.sub.clone()).collect()
        };
        if limit.is_zero() {
            // Not waited for, so not made here either: a drain makes a round trip to the
            // server first, which would block this thread while the connection is down.
            self.shared.conn.handle.spawn(async move {
                for sub in subs {
                    let _ = sub.drain(Duration::ZERO);
                }
            });
            return Ok(());
        }
        let deadline = runtime::deadline_after(limit);
        let mut result = Ok(());
        for sub in subs {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.drain(left) {
                Err(e) if e.kind == ErrorKind::Timeout => result = Err(e),
                // Already ended (the connection closed): nothing left to stop.
                _ => {}
            }
        }
        result
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.shared.state().stopped
    }

    /// Sets every endpoint's counters to zero and the start time to now.
    pub(crate) fn reset(&self) {
        let mut state = self.shared.state();
        state.started = SystemTime::now();
        for e in &state.endpoints {
            e.counters.lock().reset();
        }
    }

    /// The counters now, with the stats-data handler's data (called on this thread).
    pub(crate) fn stats(&self) -> ServiceStats {
        self.shared.stats(true)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.stop(Duration::ZERO);
    }
}

impl Shared {
    /// The nine discovery subscriptions: each verb for all services, for this name, and for
    /// this instance.
    fn subscribe_discovery(&self) -> Result<Vec<async_nats::Subscriber>> {
        let subjects: Vec<String> = VERBS
            .iter()
            .flat_map(|v| {
                [format!("$SRV.{v}"), format!("$SRV.{v}.{}", self.name), format!("$SRV.{v}.{}.{}", self.name, self.id)]
            })
            .collect();
        let client = self.conn.client.clone();
        let subscribed =
            runtime::block_on_timeout(&self.conn.handle, "nats_service_add", self.conn.request_timeout, async {
                let mut subs = Vec::with_capacity(subjects.len());
                for s in subjects {
                    subs.push(client.subscribe(s).await?);
                }
                Ok::<_, async_nats::SubscribeError>(subs)
            })?;
        subscribed.map_err(|e| self.conn.closed_error("nats_service_add", e))
    }
}

/// Answers discovery requests until the service stops or the connection closes.
async fn discover(
    shared: Arc<Shared>,
    subscribers: Vec<async_nats::Subscriber>,
    mut stop: oneshot::Receiver<()>,
    stats_lane: Option<JobSender>,
    mut closed: tokio::sync::watch::Receiver<bool>,
) {
    let mut requests = futures_util::stream::select_all(subscribers);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = closed.wait_for(|c| *c) => break,
            request = requests.next() => match request {
                Some(r) => shared.answer(r, stats_lane.as_ref()),
                None => break,
            },
        }
    }
}

/// `t` as RFC 3339 in UTC with nanoseconds, as the micro protocol's `started`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60,
        since.subsec_nanos()
    )
}

/// Year, month, day of the `days`-th day after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_versions() {
        for ok in ["0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0+build.5", "1.0.0-rc.1+b.2"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in
            ["", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "v1.2.3", "1.2.x"]
        {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(check_name("policy-check_2", "n").is_ok());
        for bad in ["", "a.b", "a b", "a*", "é"] {
            assert!(check_name(bad, "n").is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_times() {
        let at = |s: u64, n: u32| rfc3339(SystemTime::UNIX_EPOCH + Duration::new(s, n));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(at(1_798_761_599, 999_999_999), "2026-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn average_processing_time() {
        let s = EndpointStats { requests: 4, processing: Duration::from_millis(10), ..Default::default() };
        assert_eq!(s.average_processing(), Duration::from_micros(2500));
        assert_eq!(EndpointStats::default().average_processing(), Duration::ZERO);
    }
}
