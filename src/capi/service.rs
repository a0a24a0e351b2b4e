//! `nats_service_*`: services (the NATS micro protocol) — endpoints whose callbacks answer
//! requests, groups of endpoints, statistics, and the discovery requests answered by the
//! library.

use crate::capi::args::*;
use crate::capi::callback::{nats_user_data_free, CCallback};
use crate::capi::connection::nats_connection;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::msg::{borrowed_msg, nats_msg, CMsg};
use crate::capi::status::*;
use crate::capi::strings::c_string;
use crate::capi::view::{free_owned, owned_raw, CArena};
use crate::client::error::*;
use crate::client::message::Message;
use crate::client::service::{
    nanos, EndpointConfig, EndpointStats, Group, RequestHandler, Responder, Service, ServiceConfig, ServiceStats,
    StatsData,
};
use serde_json::Value;
use std::ffi::{c_char, c_void, CStr, CString};
use std::time::Duration;

/// A request to a service endpoint, borrowed by the endpoint's callback until it returns:
/// read it with `nats_service_request_msg`, answer it with `nats_service_respond`,
/// `_respond_msg` or `_respond_error`.
///
/// Functions: `nats_service_request_msg`, `nats_service_respond`, `nats_service_respond_msg`,
/// `nats_service_respond_error`.
pub struct nats_service_request {
    _private: [u8; 0],
}

/// A request as C borrows it: the message, and what answers it.
pub(crate) struct CRequest<'a> {
    msg: CMsg,
    responder: &'a Responder<'a>,
}

// A `nats_service_request` lives on the stack of the endpoint's lane for one callback; C
// borrows it (never frees it). The `'static` is the callback's length: the header forbids
// using the pointer after the callback returned.
impl Castable for nats_service_request {
    type Rust = CRequest<'static>;
}

/// Endpoint callback: `user_data` as given to `nats_service_add_endpoint`, and the request,
/// valid until the callback returns. Runs as a subscription callback does — on the endpoint's
/// own thread (the default), the shared pool or the application's dispatcher, one request at a
/// time per endpoint — and may call any function of this library. The time it takes is the
/// request's processing time in the statistics.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_service_handler = Option<unsafe extern "C" fn(user_data: *mut c_void, req: *mut nats_service_request)>;

type HandlerFn = unsafe extern "C" fn(*mut c_void, *mut nats_service_request);

/// Application data for STATS: called with `user_data` and an endpoint's counters, returns
/// JSON text for its `data` field (NULL: none), read before the callback returns — a static or
/// thread-local buffer will do. Text that is not JSON is sent as a JSON string. Runs for a
/// STATS discovery request on the connection's delivery lanes (like an endpoint callback), and
/// on the calling thread for `nats_service_stats`; one call at a time per service. It may call
/// `nats_service_stats` on its own service: that gets the counters without data.
pub type nats_service_stats_data_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, endpoint: *const nats_endpoint_statistics) -> *const c_char>;

type StatsDataFn = unsafe extern "C" fn(*mut c_void, *const nats_endpoint_statistics) -> *const c_char;

/// What a service is added with. Zero-initialize it (`= {0}`), then set `name` and `version`;
/// strings are copied by `nats_service_add`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_service_config {
    /// The service's name (required): letters, digits, `-` and `_`. Instances of one service
    /// share it.
    pub name: *const c_char,
    /// Its version (required), a semantic version: `MAJOR.MINOR.PATCH`, optionally
    /// `-PRERELEASE` and `+BUILD`.
    pub version: *const c_char,
    /// A description; NULL for none.
    pub description: *const c_char,
    /// Metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
    /// The endpoints' queue group, unless a group or an endpoint names one; NULL: `q`.
    pub queue_group: *const c_char,
    /// Adds application data to each endpoint's STATS entry; NULL: none.
    pub stats_data: nats_service_stats_data_cb,
    /// Passed to `stats_data`; kept alive by the caller while the service lives.
    pub stats_data_user_data: *mut c_void,
}

/// An endpoint's configuration. Zero-initialize it (`= {0}`), then set `name`; strings are
/// copied by `nats_service_add_endpoint`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_service_endpoint_config {
    /// The endpoint's name (required) in INFO and STATS: letters, digits, `-` and `_`; unique
    /// in its service.
    pub name: *const c_char,
    /// The subject it answers (after its group's prefix); may contain wildcards; NULL: the
    /// name.
    pub subject: *const c_char,
    /// Its queue group; NULL: its group's, else the service's, else `q`.
    pub queue_group: *const c_char,
    /// Metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
}

/// One endpoint's counters.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_endpoint_statistics {
    /// The endpoint's name.
    pub name: *const c_char,
    /// Its full subject (with its group's prefix).
    pub subject: *const c_char,
    /// Its queue group.
    pub queue_group: *const c_char,
    /// Requests handled since the service started or was reset.
    pub requests: u64,
    /// Of those, the ones answered with `nats_service_respond_error`.
    pub errors: u64,
    /// Time spent in the endpoint's callback, summed, ns.
    pub processing_time_ns: u64,
    /// `processing_time_ns / requests` (0 without requests).
    pub average_processing_time_ns: u64,
    /// `<code>:<description>` of the last error response; "" for none.
    pub last_error: *const c_char,
    /// The `stats_data` callback's JSON for this endpoint; NULL for none (and always NULL in
    /// what `stats_data` is given).
    pub data: *const c_char,
}

/// A service's counters, a struct C reads directly; → `nats_service_statistics_free`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_service_statistics {
    /// The service's name.
    pub name: *const c_char,
    /// This instance's id.
    pub id: *const c_char,
    /// The service's version.
    pub version: *const c_char,
    /// When the service started (or was last reset), ns since the Unix epoch.
    pub started_ns: i64,
    /// Its endpoints, in the order they were added.
    pub endpoints: *const nats_endpoint_statistics,
    /// Number of endpoints.
    pub endpoints_count: usize,
}

/// A running service, from `nats_service_add`; → `nats_service_free`. Thread safe.
///
/// Functions: `nats_service_add`, `nats_service_add_endpoint`, `nats_service_add_group`,
/// `nats_service_id`, `nats_service_stop`, `nats_service_stopped`, `nats_service_reset`,
/// `nats_service_stats`, `nats_service_free`.
pub struct nats_service {
    _private: [u8; 0],
}

/// A service with its id NUL-terminated for C.
pub(crate) struct CService {
    service: Service,
    id: CString,
}

// C owns a `nats_service` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_service {
    type Rust = CService;
}
impl BoxHandle for nats_service {}

/// A group of endpoints sharing a subject prefix and a queue group, from
/// `nats_service_add_group`; → `nats_service_group_free` (its endpoints stay). Thread safe.
///
/// Functions: `nats_service_add_group`, `nats_service_add_endpoint`, `nats_service_group_free`.
pub struct nats_service_group {
    _private: [u8; 0],
}

// C owns a `nats_service_group` with one owner: created and freed through a Box.
impl Castable for nats_service_group {
    type Rust = Group;
}
impl BoxHandle for nats_service_group {}

/// The endpoint callback with its `user_data`, as the core's request handler.
struct CRequestHandler(CCallback<HandlerFn>);

impl RequestHandler for CRequestHandler {
    fn accepted(&mut self) {
        self.0.own();
    }

    fn on_request(&mut self, request: Message, responder: &Responder) {
        let req = CRequest { msg: CMsg::from(request), responder };
        let p: *const CRequest = &req;
        // SAFETY: the user's callback with the user's pointer; the request lives on this
        // stack until the call returns, and the header allows its use only until then.
        unsafe { (self.0.f())(self.0.user_data(), p.cast_mut().cast()) };
    }
}

/// The `stats_data` callback, as the core's stats-data source.
struct CStatsData(CCallback<StatsDataFn>);

impl StatsData for CStatsData {
    fn data(&mut self, endpoint: &EndpointStats) -> Option<Value> {
        let mut arena = CArena::default();
        let view = endpoint_view(endpoint, None, &mut arena);
        // SAFETY: the user's callback with the user's pointer and a view that lives (with its
        // arena) until the call returns.
        let text = unsafe { (self.0.f())(self.0.user_data(), &view) };
        if text.is_null() {
            return None;
        }
        // SAFETY: the header asks for NUL-terminated text, readable until the callback's
        // return, which is now; it is copied here.
        let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        Some(serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned())))
    }
}

fn endpoint_view(s: &EndpointStats, data: Option<&Value>, arena: &mut CArena) -> nats_endpoint_statistics {
    nats_endpoint_statistics {
        name: arena.text(&s.name),
        subject: arena.text(&s.subject),
        queue_group: arena.text(&s.queue_group),
        requests: s.requests,
        errors: s.errors,
        processing_time_ns: nanos(s.processing),
        average_processing_time_ns: nanos(s.average_processing()),
        last_error: arena.text(&s.last_error),
        data: match data {
            Some(d) => arena.text(&d.to_string()),
            None => std::ptr::null(),
        },
    }
}

fn service_config(c: &nats_service_config) -> Result<ServiceConfig> {
    Ok(ServiceConfig {
        name: str_arg(c.name, "cfg.name")?.to_string(),
        version: str_arg(c.version, "cfg.version")?.to_string(),
        description: opt_str_arg(c.description, "cfg.description")?.unwrap_or_default().to_string(),
        metadata: metadata_arg(c.metadata_keys, c.metadata_values, c.metadata_count, "cfg.metadata")?,
        queue_group: opt_str_arg(c.queue_group, "cfg.queue_group")?.map(str::to_string),
        stats_data: c
            .stats_data
            .map(|f| Box::new(CStatsData(CCallback::lent(f, c.stats_data_user_data))) as Box<dyn StatsData>),
    })
}

fn endpoint_config(c: &nats_service_endpoint_config) -> Result<EndpointConfig> {
    Ok(EndpointConfig {
        name: str_arg(c.name, "cfg.name")?.to_string(),
        subject: opt_str_arg(c.subject, "cfg.subject")?.map(str::to_string),
        queue_group: opt_str_arg(c.queue_group, "cfg.queue_group")?.map(str::to_string),
        metadata: metadata_arg(c.metadata_keys, c.metadata_values, c.metadata_count, "cfg.metadata")?,
    })
}

/// Starts a service on `conn`: it answers the discovery requests `$SRV.PING`, `$SRV.INFO` and
/// `$SRV.STATS` (for all services, for its name, and for its id) as the micro protocol
/// specifies; add endpoints with `nats_service_add_endpoint`. Writes it to `*out`
/// (→ `nats_service_free`). Like a subscribe, the server may not have the subscriptions yet
/// when this returns: `nats_connection_flush` to be sure.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`
/// (name, version not semver, metadata), `NATS_ERR_INVALID_SUBJECT` (queue group),
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`,
/// `NATS_ERR_INTERNAL` (no delivery thread could start for `stats_data`).
#[no_mangle]
pub unsafe extern "C" fn nats_service_add(
    conn: *mut nats_connection,
    cfg: *const nats_service_config,
    out: *mut *mut nats_service,
) -> nats_status {
    guard(|| {
        let c = clone_arc(conn, "conn")?;
        let config = service_config(struct_arg(cfg, "cfg")?)?;
        out_arg(out, "out")?;
        let service = Service::add(c, config)?;
        let id = c_string(service.id());
        box_out(out, CService { service, id });
        Ok(())
    })
}

/// Adds an endpoint to `svc` (under `group`, if not NULL): a queue subscription whose
/// requests `handler` answers (see `nats_service_handler`). `user_data_free` (may be NULL)
/// runs once with `user_data` after the endpoint's last callback, once the service was
/// stopped or freed or the connection closed; when this fails it does not run.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (name,
/// a name used already, metadata, the service was stopped), `NATS_ERR_INVALID_SUBJECT`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`,
/// `NATS_ERR_INTERNAL` (no delivery thread could start).
#[no_mangle]
pub unsafe extern "C" fn nats_service_add_endpoint(
    svc: *mut nats_service,
    group: *const nats_service_group,
    cfg: *const nats_service_endpoint_config,
    handler: nats_service_handler,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
) -> nats_status {
    guard(|| {
        let s = borrow(svc, "svc")?;
        let group = borrow_opt(group);
        let config = endpoint_config(struct_arg(cfg, "cfg")?)?;
        let f = handler.ok_or_else(|| null("handler"))?;
        let handler = Box::new(CRequestHandler(CCallback::new(f, user_data, user_data_free)));
        s.service.add_endpoint(group, config, handler)
    })
}

/// Makes a group of `svc` under `parent` (NULL: at the top): endpoints added with it answer
/// `<prefix>.<subject>`, where the prefix is `name` after the parent's, and use `queue_group`
/// (NULL: the parent's, else the service's) unless they name one. Writes it to `*out`
/// (→ `nats_service_group_free`).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT` (name,
/// queue group).
#[no_mangle]
pub unsafe extern "C" fn nats_service_add_group(
    svc: *mut nats_service,
    parent: *const nats_service_group,
    name: *const c_char,
    queue_group: *const c_char,
    out: *mut *mut nats_service_group,
) -> nats_status {
    guard(|| {
        let s = borrow(svc, "svc")?;
        let name = str_arg(name, "name")?;
        let queue_group = opt_str_arg(queue_group, "queue_group")?;
        out_arg(out, "out")?;
        box_out(out, s.service.group(borrow_opt(parent), name, queue_group)?);
        Ok(())
    })
}

/// Frees a group; its endpoints stay. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_service_group_free(group: *mut nats_service_group) {
    guard_void(|| free_box(group))
}

/// This service instance's id (owned by `svc`); NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_service_id(svc: *const nats_service) -> *const c_char {
    read_or(svc, std::ptr::null(), |s| s.id.as_ptr())
}

/// Stops the service: it no longer answers discovery, and each endpoint drains (requests
/// already received are still handled, no new ones arrive). Waits at most `timeout_ms` for
/// the drains and those handlers (0: returns at once, the drains go on in the background;
/// from an endpoint callback, does not wait for its own).
/// Stopping again does nothing. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_TIMEOUT` (handlers
/// still run; they finish on their own).
#[no_mangle]
pub unsafe extern "C" fn nats_service_stop(svc: *mut nats_service, timeout_ms: u64) -> nats_status {
    guard(|| borrow(svc, "svc")?.service.stop(Duration::from_millis(timeout_ms)))
}

/// Whether `svc` was stopped (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn nats_service_stopped(svc: *const nats_service) -> bool {
    read_or(svc, false, |s| s.service.is_stopped())
}

/// Sets every endpoint's counters to zero and the start time to now.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_service_reset(svc: *mut nats_service) -> nats_status {
    guard(|| {
        borrow(svc, "svc")?.service.reset();
        Ok(())
    })
}

fn statistics_raw(s: &CService, stats: ServiceStats) -> *mut nats_service_statistics {
    let mut arena = CArena::default();
    let endpoints: Vec<nats_endpoint_statistics> =
        stats.endpoints.iter().map(|(e, d)| endpoint_view(e, d.as_ref(), &mut arena)).collect();
    let (endpoints, endpoints_count) = arena.array(endpoints);
    let started = stats.started.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let view = nats_service_statistics {
        name: arena.text(s.service.name()),
        id: arena.text(s.service.id()),
        version: arena.text(s.service.version()),
        started_ns: i64::try_from(started.as_nanos()).unwrap_or(i64::MAX),
        endpoints,
        endpoints_count,
    };
    owned_raw(view, arena)
}

/// Writes the service's counters to `*out` (→ `nats_service_statistics_free`), with the
/// `stats_data` callback's data (called on this thread).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_service_stats(
    svc: *mut nats_service,
    out: *mut *mut nats_service_statistics,
) -> nats_status {
    guard(|| {
        let s = borrow(svc, "svc")?;
        out_arg(out, "out")?;
        write_out(out, statistics_raw(s, s.service.stats()));
        Ok(())
    })
}

/// Frees what `nats_service_stats` wrote. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_service_statistics_free(stats: *mut nats_service_statistics) {
    // The header lets only statistics this library handed out come back, once.
    guard_void(|| free_owned(stats))
}

/// Stops the service (without waiting, as `nats_service_stop(svc, 0)`) and frees the handle;
/// each endpoint's `user_data_free` runs after its last callback. May be called from an
/// endpoint callback. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_service_free(svc: *mut nats_service) {
    guard_void(|| free_box(svc))
}

/// The request's message (subject, data, headers, reply subject: read it with the
/// `nats_msg_*` functions), borrowed until the callback returns; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_service_request_msg(req: *const nats_service_request) -> *const nats_msg {
    read_or(req, std::ptr::null(), |r| borrowed_msg(&r.msg))
}

/// Answers the request with `len` bytes at `data`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_NO_REPLY_SUBJECT` (it was published, not
/// requested), else as `nats_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_service_respond(
    req: *mut nats_service_request,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let r = borrow(req, "req")?;
        r.responder.respond(None, bytes_arg(data, len, "data")?)
    })
}

/// Answers the request with the headers and data of `response` (made with `nats_msg_new`;
/// its subject and reply subject are not used).
/// Errors: as `nats_service_respond`.
#[no_mangle]
pub unsafe extern "C" fn nats_service_respond_msg(
    req: *mut nats_service_request,
    response: *const nats_msg,
) -> nats_status {
    guard(|| {
        let r = borrow(req, "req")?;
        let m = &borrow(response, "response")?.msg.inner;
        r.responder.respond(m.headers.as_ref(), &m.payload)
    })
}

/// Answers the request with an error: headers `Nats-Service-Error: <description>` and
/// `Nats-Service-Error-Code: <code>`, and `len` bytes at `data` (may be 0). The endpoint
/// counts the request as an error and keeps `<code>:<description>` as its last error.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (an
/// empty description, or one with CR or LF), else as `nats_service_respond`.
#[no_mangle]
pub unsafe extern "C" fn nats_service_respond_error(
    req: *mut nats_service_request,
    code: i32,
    description: *const c_char,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let r = borrow(req, "req")?;
        let description = str_arg(description, "description")?;
        r.responder.respond_error(code, description, None, bytes_arg(data, len, "data")?)
    })
}
