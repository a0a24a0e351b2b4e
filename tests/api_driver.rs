//! The seeded random API driver (issue 13): several seeds, each a thread making thousands of
//! calls with random arguments over every exported function (bad strings, NULLs, invalid
//! UTF-8, out-of-range enums and numbers, closed connections, double unsubscribes, frees after
//! close, operations on drained subscriptions) against a real JetStream server. It asserts:
//! no crash (the test process survives), no hang (a watchdog), never `NATS_ERR_PANIC`, and
//! every status a function returns is one the header documents for it. On failure it prints
//! the seed and the iteration to replay: `NATS_FFI_DRIVER_SEEDS=<seed> cargo test --test
//! api_driver`. `NATS_FFI_DRIVER_CALLS` sets the calls per seed (default 12 500, over 8 seeds: 100 000).

mod common;
use common::*;
use nats_ffi::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the header documents each function may return: the `NATS_ERR_*` names in the comment
/// above its declaration, plus those of any function it refers to with "as `nats_…`".
fn documented_statuses() -> HashMap<String, HashSet<String>> {
    let header = std::fs::read_to_string(root().join("include/nats_ffi.h")).unwrap();
    let mut own: HashMap<String, (HashSet<String>, Vec<String>)> = HashMap::new();
    // The text of the doc comment (`/** ... */`, or `//` lines) just above each declaration.
    let mut comment: Vec<&str> = Vec::new();
    let mut in_block = false;
    for line in header.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix("/**") {
            in_block = !c.ends_with("*/");
            comment.clear();
            comment.push(c.trim_end_matches("*/"));
            continue;
        }
        if in_block {
            in_block = !t.ends_with("*/");
            comment.push(t.trim_end_matches("*/").trim_start_matches('*'));
            continue;
        }
        if let Some(c) = t.strip_prefix("//") {
            comment.push(c);
            continue;
        }
        if let Some(name) = declared_function(t) {
            let text = comment.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
            let statuses = words_after(&text, "NATS_ERR_").into_iter().map(|w| format!("NATS_ERR_{w}")).collect();
            let lower = text.to_ascii_lowercase();
            let refs = ["as `nats_", "like `nats_"]
                .iter()
                .flat_map(|p| words_after(&lower, p))
                .map(|w| format!("nats_{w}"))
                .collect();
            own.insert(name, (statuses, refs));
        }
        comment.clear();
    }
    let resolve = |name: &str| {
        let mut all = HashSet::new();
        let mut todo = vec![name.to_string()];
        let mut seen = HashSet::new();
        while let Some(n) = todo.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some((s, r)) = own.get(&n) {
                all.extend(s.iter().cloned());
                todo.extend(r.iter().cloned());
            }
        }
        all
    };
    own.keys().map(|n| (n.clone(), resolve(n))).collect()
}

fn declared_function(line: &str) -> Option<String> {
    let open = line.find('(')?;
    let head = &line[..open];
    let name = head.rsplit([' ', '*']).next()?;
    (name.starts_with("nats_") && !line.starts_with("typedef") && line.ends_with(");")).then(|| name.to_string())
}

fn words_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| text[i + prefix.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .filter(|w: &String| !w.is_empty())
        .collect()
}

fn status_name(s: nats_status) -> String {
    format!("{s:?}")
}

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A string argument: owned here, lent to the call as a pointer (or NULL).
struct Arg(Option<CString>);
impl Arg {
    fn p(&self) -> *const c_char {
        self.0.as_ref().map_or(null(), |c| c.as_ptr())
    }
}

/// A user NKey seed for `nats_sign`, made once per run.
fn sign_seed() -> &'static str {
    static SEED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEED.get_or_init(|| nkeys::KeyPair::new_user().seed().unwrap())
}

/// A token callback with no token to give.
unsafe extern "C" fn no_token(_ud: *mut c_void) -> *const c_char {
    std::ptr::null()
}

/// The bytes of a string the library lends, or None for NULL.
unsafe fn opt_bytes(p: *const std::ffi::c_char) -> Option<Vec<u8>> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}

fn text(s: &str) -> Arg {
    Arg(Some(CString::new(s).unwrap()))
}

const NOT_UTF8: &[u8] = b"bad\xff\xfeutf8";

/// Any string at all, as a caller might pass: NULL, empty, whitespace, invalid UTF-8, control
/// characters, wildcards, over-long, or one of `good`.
fn any_str(r: &mut Rng, good: &[&str]) -> Arg {
    match r.below(20) {
        0 => Arg(None),
        1 => text(""),
        2 => text("a b"),
        3 => Arg(Some(CString::new(NOT_UTF8).unwrap())),
        4 => text("x\r\ny"),
        5 => text(&"z".repeat(4199)),
        6 => text(r.pick::<&str>(&["*", ">", "a.>.b", "a..b", ".a", "drv.*", "drv.>"])),
        _ => text(r.pick::<&str>(good)),
    }
}

const SUBJECTS: &[&str] =
    &["drv.a", "drv.b", "drv.svc.echo", "drv.js.x", "drv.js.y", "drv.q", "$SRV.PING", "$SRV.STATS.svc"];
const STREAMS: &[&str] = &["DRV", "DRV2", "NOPE"];
const CONSUMERS: &[&str] = &["c1", "c2", "push1", "gone"];
const BUCKETS: &[&str] = &["b1", "b2", "missing"];
const KEYS: &[&str] = &["k1", "k2", "a.b", "k.*", ">"];

fn timeout(r: &mut Rng) -> u64 {
    if r.chance(1) {
        0
    } else {
        *r.pick(&[1, 5, 10, 20, 50])
    }
}

fn any_u64(r: &mut Rng) -> u64 {
    let random = r.next();
    *r.pick(&[0, 1, 2, 7, 100, 1000, 65_536, u32::MAX as u64, u64::MAX, random])
}

fn any_i64(r: &mut Rng) -> i64 {
    *r.pick(&[-5, -1, 0, 1, 10, 1 << 20, i64::MAX, i64::MIN])
}

fn any_enum(r: &mut Rng, valid: i32) -> i32 {
    if r.chance(70) {
        r.below(valid as usize) as i32
    } else {
        *r.pick(&[-1, valid, 7, 42, 99, i32::MAX, i32::MIN])
    }
}

fn any_payload(r: &mut Rng) -> (Vec<u8>, bool) {
    match r.below(10) {
        0 => (Vec::new(), true),
        1 => (vec![b'p'; 2 << 20], false), // over max_payload
        2 => (Vec::new(), false),          // NULL data, len 0
        _ => (b"payload".to_vec(), false),
    }
}

/// Handles one driver owns. Stored as addresses: every pointer is used only by its driver.
#[derive(Default)]
struct Pools {
    opts: Vec<usize>,
    conns: Vec<usize>,
    subs: Vec<usize>,
    msgs: Vec<usize>,
    jsopts: Vec<usize>,
    jss: Vec<usize>,
    kvs: Vec<usize>,
    object_stores: Vec<usize>,
    object_watchers: Vec<usize>,
    pcs: Vec<usize>,
    watchers: Vec<usize>,
    server_infos: Vec<usize>,
    stream_infos: Vec<usize>,
    consumer_infos: Vec<usize>,
    acks: Vec<usize>,
    entries: Vec<usize>,
    dispatchers: Vec<usize>,
    services: Vec<usize>,
    service_groups: Vec<usize>,
}

/// A random live handle of a pool, or sometimes NULL.
fn handle<T>(r: &mut Rng, pool: &[usize]) -> *mut T {
    if pool.is_empty() || r.chance(3) {
        null_mut()
    } else {
        *r.pick(pool) as *mut T
    }
}

fn take<T>(r: &mut Rng, pool: &mut Vec<usize>) -> *mut T {
    if pool.is_empty() {
        return null_mut();
    }
    let i = r.below(pool.len());
    pool.swap_remove(i) as *mut T
}

/// Keeps a handle the call wrote, when it wrote one.
fn keep<T>(pool: &mut Vec<usize>, p: *mut T) {
    if !p.is_null() {
        pool.push(p as usize);
    }
}

static USER_DATA_FREED: AtomicUsize = AtomicUsize::new(0);
/// Successful calls that took `on_free`: each owes exactly one call of it.
static USER_DATA_GIVEN: AtomicUsize = AtomicUsize::new(0);

/// Counts a successful call that took ownership of user data with `on_free`.
/// An object watch callback: reads the info.
unsafe extern "C" fn drv_object(_ud: *mut c_void, info: *const nats_object_info) {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
    let _ = opt_bytes((*info).name);
}

/// A read callback yielding `*ud` bytes of data, then the end.
unsafe extern "C" fn drv_read(ud: *mut c_void, buf: *mut c_void, cap: usize) -> i64 {
    let left = &mut *(ud as *mut usize);
    let n = cap.min(*left);
    std::ptr::write_bytes(buf.cast::<u8>(), b'd', n);
    *left -= n;
    n as i64
}

/// A write callback taking `*ud` chunks, then stopping the read.
unsafe extern "C" fn drv_write(ud: *mut c_void, _data: *const c_void, _len: usize) -> i32 {
    let left = &mut *(ud as *mut usize);
    if *left == 0 {
        return 1;
    }
    *left -= 1;
    0
}

/// Requests the service endpoints were given.
static SERVICE_REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// A service endpoint callback: reads the request and answers it one of several ways, some
/// of them refused (a bad description, a NULL message).
unsafe extern "C" fn drv_service(_ud: *mut c_void, req: *mut nats_service_request) {
    let m = nats_service_request_msg(req);
    let _ = (nats_msg_subject(m), nats_msg_data_len(m), nats_msg_reply(m));
    let status = match SERVICE_REQUESTS.fetch_add(1, Ordering::Relaxed) % 5 {
        0 => nats_service_respond(req, b"r".as_ptr().cast(), 1),
        1 => nats_service_respond_error(req, 503, c"busy".as_ptr(), null(), 0),
        2 => nats_service_respond_error(req, -1, c"two\r\nlines".as_ptr(), null(), 0),
        3 => nats_service_respond_msg(req, if nats_msg_data_len(m).is_multiple_of(2) { m } else { null() }),
        _ => nats_service_respond(req, null(), 5),
    };
    note_callback_status(status);
}

/// Stats data: JSON for some endpoints, text or nothing for others.
unsafe extern "C" fn drv_stats_data(_ud: *mut c_void, e: *const nats_endpoint_statistics) -> *const c_char {
    let _ = opt_bytes((*e).name);
    match (*e).requests % 3 {
        0 => c"{\"n\":1}".as_ptr(),
        1 => c"not json".as_ptr(),
        _ => null(),
    }
}

fn gave(st: nats_status) -> nats_status {
    if st == NATS_OK {
        USER_DATA_GIVEN.fetch_add(1, Ordering::Relaxed);
    }
    st
}
static PANICS_REPORTED: AtomicUsize = AtomicUsize::new(0);
static CALLBACKS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn on_msg(_: *mut c_void, _: *mut nats_subscription, msg: *const nats_msg) {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
    let _ = (nats_msg_subject(msg), nats_msg_data_len(msg), nats_msg_reply(msg));
}
unsafe extern "C" fn on_free(_: *mut c_void) {
    USER_DATA_FREED.fetch_add(1, Ordering::Relaxed);
}
unsafe extern "C" fn on_reply(_: *mut c_void, status: nats_status, _: *const nats_msg) {
    note_callback_status(status);
}
unsafe extern "C" fn on_ack(_: *mut c_void, status: nats_status, _: *const nats_pub_ack) {
    note_callback_status(status);
}
unsafe extern "C" fn on_entry(_: *mut c_void, e: *const nats_kv_entry) {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
    let _ = (nats_kv_entry_key(e), nats_kv_entry_operation(e));
}
unsafe extern "C" fn on_event(_: *mut c_void, _: *mut nats_connection) {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
}
unsafe extern "C" fn on_error(
    _: *mut c_void,
    _: *mut nats_connection,
    _: *mut nats_subscription,
    status: nats_status,
    _: *const c_char,
) {
    note_callback_status(status);
}
unsafe extern "C" fn on_delay(_: *mut c_void, _: u32) -> u64 {
    10
}
unsafe extern "C" fn on_sign(_: *mut c_void, _: *const u8, _: usize, _: *mut u8) -> nats_status {
    NATS_ERR_AUTH
}

fn note_callback_status(status: nats_status) {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
    if status == NATS_ERR_PANIC {
        PANICS_REPORTED.fetch_add(1, Ordering::Relaxed);
    }
}

/// One driver: a seed, its handles, and the server to talk to.
struct Driver {
    r: Rng,
    p: Pools,
    url: String,
    dir: std::path::PathBuf,
    called: HashSet<&'static str>,
    time_in: HashMap<&'static str, Duration>,
}

/// The outcome of one call: the function called and its status, when it returns one.
type Call = (&'static str, Option<nats_status>);

impl Driver {
    fn run_one(&mut self) -> Call {
        // Weighted: cheap calls often, blocking ones (connect, fetch, requests) less.
        let group = self.r.below(100);
        unsafe {
            match group {
                0..=11 => self.options_op(),
                12..=15 => self.connect_op(),
                16..=33 => self.connection_op(),
                34..=47 => self.subscription_op(),
                48..=61 => self.msg_op(),
                62..=71 => self.jetstream_op(),
                72..=79 => self.stream_consumer_op(),
                80..=86 => self.kv_op(),
                87..=88 => self.object_op(),
                89..=90 => self.service_op(),
                91..=93 => self.info_op(),
                94..=95 => self.delivery_op(),
                _ => self.free_op(),
            }
        }
    }

    unsafe fn options_op(&mut self) -> Call {
        let r = &mut self.r;
        if self.p.opts.len() < 3 || r.chance(5) {
            let mut o = null_mut();
            let st = nats_options_new(if r.chance(3) { null_mut() } else { &mut o });
            keep(&mut self.p.opts, o);
            return ("nats_options_new", Some(st));
        }
        let o: *mut nats_options = handle(r, &self.p.opts);
        let s = any_str(r, &["name", "drv", "_INBOX.drv", "/nonexistent/file"]);
        let file = text(self.dir.join("secret.txt").to_str().unwrap());
        let pick = if r.chance(50) { file } else { s };
        let b = r.chance(50);
        match r.below(45) {
            0 => {
                let urls = [text(&self.url), any_str(r, &["nats://127.0.0.1:1", "bogus://x", "nats://a b"])];
                let ptrs: Vec<*const c_char> = urls.iter().map(|u| u.p()).collect();
                let n = r.below(3);
                (
                    "nats_options_set_servers",
                    Some(nats_options_set_servers(o, if r.chance(3) { null() } else { ptrs.as_ptr() }, n)),
                )
            }
            1 => (
                "nats_options_set_user_password",
                Some(nats_options_set_user_password(o, pick.p(), any_str(r, &["pw"]).p())),
            ),
            2 => (
                "nats_options_set_user_password_file",
                Some(nats_options_set_user_password_file(o, any_str(r, &["u"]).p(), pick.p())),
            ),
            3 => ("nats_options_set_token", Some(nats_options_set_token(o, pick.p()))),
            4 => ("nats_options_set_token_file", Some(nats_options_set_token_file(o, pick.p()))),
            5 => (
                "nats_options_set_nkey_seed",
                Some(nats_options_set_nkey_seed(
                    o,
                    any_str(r, &["SUAbad", "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"]).p(),
                )),
            ),
            6 => ("nats_options_set_nkey_seed_file", Some(nats_options_set_nkey_seed_file(o, pick.p()))),
            7 => ("nats_options_set_credentials_file", Some(nats_options_set_credentials_file(o, pick.p()))),
            8 => (
                "nats_options_set_user_jwt",
                Some(nats_options_set_user_jwt(
                    o,
                    any_str(r, &["eyJ.a.b"]).p(),
                    if b { Some(on_sign) } else { None },
                    null_mut(),
                )),
            ),
            9 => ("nats_options_set_name", Some(nats_options_set_name(o, pick.p()))),
            10 => ("nats_options_set_no_echo", Some(nats_options_set_no_echo(o, b))),
            11 => ("nats_options_set_max_reconnects", Some(nats_options_set_max_reconnects(o, any_u64(r) as u32))),
            12 => {
                ("nats_options_set_connection_timeout_ms", Some(nats_options_set_connection_timeout_ms(o, any_u64(r))))
            }
            13 => ("nats_options_set_tls_required", Some(nats_options_set_tls_required(o, b && r.chance(20)))),
            14 => ("nats_options_set_tls_first", Some(nats_options_set_tls_first(o, b && r.chance(20)))),
            15 => ("nats_options_set_certificate", Some(nats_options_set_certificate(o, pick.p()))),
            16 => ("nats_options_set_tls_server_name", Some(nats_options_set_tls_server_name(o, pick.p()))),
            17 => ("nats_options_set_tls_insecure_skip_verify", Some(nats_options_set_tls_insecure_skip_verify(o, b))),
            18 => (
                "nats_options_set_client_cert",
                Some(nats_options_set_client_cert(o, pick.p(), any_str(r, &["/nonexistent"]).p())),
            ),
            19 => ("nats_options_set_ping_interval_ms", Some(nats_options_set_ping_interval_ms(o, any_u64(r)))),
            20 => ("nats_options_set_sender_capacity", Some(nats_options_set_sender_capacity(o, any_u64(r) as usize))),
            21 => ("nats_options_set_inbox_prefix", Some(nats_options_set_inbox_prefix(o, pick.p()))),
            22 => ("nats_options_set_request_timeout_ms", Some(nats_options_set_request_timeout_ms(o, any_u64(r)))),
            23 => ("nats_options_set_retry_on_initial_connect", Some(nats_options_set_retry_on_initial_connect(o, b))),
            24 => {
                ("nats_options_set_ignore_discovered_servers", Some(nats_options_set_ignore_discovered_servers(o, b)))
            }
            25 => ("nats_options_set_retain_servers_order", Some(nats_options_set_retain_servers_order(o, b))),
            26 => ("nats_options_set_no_randomize", Some(nats_options_set_no_randomize(o, b))),
            27 => ("nats_options_set_reconnect_wait_ms", Some(nats_options_set_reconnect_wait_ms(o, any_u64(r)))),
            28 => (
                "nats_options_set_reconnect_jitter_ms",
                Some(nats_options_set_reconnect_jitter_ms(o, any_u64(r), any_u64(r))),
            ),
            29 => ("nats_options_set_max_pings_out", Some(nats_options_set_max_pings_out(o, any_u64(r) as u32))),
            30 => (
                "nats_options_set_reconnect_buffer_size",
                Some(nats_options_set_reconnect_buffer_size(o, any_u64(r) as usize)),
            ),
            31 => {
                let cb =
                    if b { Some(on_event as unsafe extern "C" fn(*mut c_void, *mut nats_connection)) } else { None };
                match r.below(6) {
                    0 => ("nats_options_set_connected_cb", Some(nats_options_set_connected_cb(o, cb, null_mut()))),
                    1 => {
                        ("nats_options_set_disconnected_cb", Some(nats_options_set_disconnected_cb(o, cb, null_mut())))
                    }
                    2 => ("nats_options_set_reconnected_cb", Some(nats_options_set_reconnected_cb(o, cb, null_mut()))),
                    3 => ("nats_options_set_closed_cb", Some(nats_options_set_closed_cb(o, cb, null_mut()))),
                    4 => ("nats_options_set_lame_duck_cb", Some(nats_options_set_lame_duck_cb(o, cb, null_mut()))),
                    _ => (
                        "nats_options_set_discovered_servers_cb",
                        Some(nats_options_set_discovered_servers_cb(o, cb, null_mut())),
                    ),
                }
            }
            32 => (
                "nats_options_set_error_cb",
                Some(nats_options_set_error_cb(o, if b { Some(on_error) } else { None }, null_mut())),
            ),
            33 => (
                "nats_options_set_reconnect_delay_cb",
                Some(nats_options_set_reconnect_delay_cb(o, if b { Some(on_delay) } else { None }, null_mut())),
            ),
            34 => {
                nats_options_free(take(r, &mut self.p.opts));
                ("nats_options_free", None)
            }
            35 => ("nats_options_use_shared_delivery", Some(nats_options_use_shared_delivery(o, b))),
            37 => ("nats_options_set_allow_reconnect", Some(nats_options_set_allow_reconnect(o, b))),
            39 => ("nats_options_set_credentials", Some(nats_options_set_credentials(o, pick.p()))),
            43 => (
                "nats_options_set_token_handler",
                Some(nats_options_set_token_handler(o, if b { Some(no_token) } else { None }, null_mut())),
            ),
            40 => (
                "nats_options_set_credentials_files",
                Some(nats_options_set_credentials_files(o, pick.p(), if b { null() } else { pick.p() })),
            ),
            41 => ("nats_options_set_ca_pem", Some(nats_options_set_ca_pem(o, if b { null() } else { pick.p() }))),
            42 => ("nats_options_set_client_cert_pem", Some(nats_options_set_client_cert_pem(o, pick.p(), pick.p()))),
            38 => (
                "nats_options_set_fail_requests_on_disconnect",
                Some(nats_options_set_fail_requests_on_disconnect(o, b)),
            ),
            36 => {
                let d: *mut nats_dispatcher = handle(r, &self.p.dispatchers);
                ("nats_options_set_dispatcher", Some(nats_options_set_dispatcher(o, d)))
            }
            _ => ("nats_status_str", {
                let _ = CStr::from_ptr(nats_status_str(any_enum(r, 30))).to_bytes();
                let _ = nats_status_is_retryable(any_enum(r, 30));
                let _ = CStr::from_ptr(nats_last_error()).to_bytes();
                let _ = CStr::from_ptr(nats_ffi::nats_ffi_version()).to_bytes();
                let st = nats_ffi::nats_ffi_check_version(r.below(3) as u32, r.below(3) as u32);
                assert!(st == NATS_OK || st == NATS_ERR_INVALID_ARGUMENT, "nats_ffi_check_version: {st:?}");
                let mut sig = [0u8; NATS_NKEY_SIGNATURE_LEN];
                let seed = if r.chance(50) { text(sign_seed()) } else { text("SUnot-a-seed") };
                let st = nats_sign(seed.p(), b"nonce".as_ptr().cast(), 5, sig.as_mut_ptr());
                assert!(st == NATS_OK || st == NATS_ERR_INVALID_ARGUMENT, "nats_sign: {st:?}");
                self.called.extend([
                    "nats_status_is_retryable",
                    "nats_last_error",
                    "nats_ffi_version",
                    "nats_ffi_check_version",
                    "nats_sign",
                ]);
                None
            }),
        }
    }

    /// Options that connect quickly to the test server: the driver's own options are random
    /// and mostly do not.
    unsafe fn quick_options(&mut self) -> *mut nats_options {
        let mut o = null_mut();
        ok(nats_options_new(&mut o));
        // Callbacks on dedicated threads, the shared pool or one of this driver's dispatchers.
        match self.r.below(3) {
            0 => {}
            1 => ok(nats_options_use_shared_delivery(o, true)),
            _ => ok(nats_options_set_dispatcher(o, self.a_dispatcher())),
        }
        let url = text(&self.url);
        ok(nats_options_set_servers(o, &url.p(), 1));
        ok(nats_options_set_request_timeout_ms(o, 200));
        ok(nats_options_set_connection_timeout_ms(o, 500));
        ok(nats_options_set_max_reconnects(o, 5));
        ok(nats_options_set_error_cb(o, Some(on_error), null_mut()));
        o
    }

    unsafe fn connect_op(&mut self) -> Call {
        if self.p.conns.len() >= 6 {
            return self.free_conn();
        }
        let mut c = null_mut();
        match self.r.below(10) {
            0..=5 => {
                let o = self.quick_options();
                let st = nats_connect(o, &mut c);
                nats_options_free(o);
                keep(&mut self.p.conns, c);
                ("nats_connect", Some(st))
            }
            6 | 7 => {
                // A random options object: connect limited to a dead or live server quickly.
                let o: *mut nats_options = handle(&mut self.r, &self.p.opts);
                if !o.is_null() {
                    let urls = [text(&self.url), text("nats://127.0.0.1:1")];
                    let n = 1 + self.r.below(2);
                    ok(nats_options_set_servers(o, urls.iter().map(|u| u.p()).collect::<Vec<_>>().as_ptr(), n));
                    ok(nats_options_set_connection_timeout_ms(o, 300));
                    ok(nats_options_set_max_reconnects(o, 2));
                    ok(nats_options_set_request_timeout_ms(o, 200));
                    ok(nats_options_set_tls_required(o, false));
                    ok(nats_options_set_tls_first(o, false));
                }
                let st = nats_connect(o, if self.r.chance(5) { null_mut() } else { &mut c });
                keep(&mut self.p.conns, c);
                ("nats_connect", Some(st))
            }
            _ => {
                let urls = any_str(&mut self.r, &[&self.url, "nats://127.0.0.1:1", "x://y"]);
                let st = nats_connect_url(urls.p(), &mut c);
                keep(&mut self.p.conns, c);
                ("nats_connect_url", Some(st))
            }
        }
    }

    unsafe fn free_conn(&mut self) -> Call {
        let c = take::<nats_connection>(&mut self.r, &mut self.p.conns);
        if self.r.chance(50) {
            nats_connection_close(c);
            self.called.insert("nats_connection_close");
        }
        nats_connection_free(c);
        ("nats_connection_free", None)
    }

    unsafe fn connection_op(&mut self) -> Call {
        let r = &mut self.r;
        let c: *mut nats_connection = handle(r, &self.p.conns);
        let subject = any_str(r, SUBJECTS);
        let (data, _) = any_payload(r);
        let dp: *const c_void = if data.is_empty() && r.chance(50) { null() } else { data.as_ptr().cast() };
        let m: *mut nats_msg = handle(r, &self.p.msgs);
        match r.below(22) {
            0..=3 => ("nats_publish", Some(nats_publish(c, subject.p(), dp, data.len()))),
            4 => (
                "nats_publish_with_reply",
                Some(nats_publish_with_reply(c, subject.p(), any_str(r, SUBJECTS).p(), dp, data.len())),
            ),
            5 => ("nats_publish_msg", Some(nats_publish_msg(c, m))),
            6 => ("nats_connection_flush", Some(nats_connection_flush(c, 1 + timeout(r) * 20))),
            7 => {
                let mut reply = null_mut();
                let st = nats_request(
                    c,
                    subject.p(),
                    dp,
                    data.len(),
                    timeout(r) + 1,
                    if r.chance(3) { null_mut() } else { &mut reply },
                );
                keep(&mut self.p.msgs, reply);
                ("nats_request", Some(st))
            }
            8 => {
                let mut reply = null_mut();
                let st = nats_request_msg(c, m, timeout(r) + 1, &mut reply);
                keep(&mut self.p.msgs, reply);
                ("nats_request_msg", Some(st))
            }
            9 => (
                "nats_request_async",
                Some(nats_request_async(
                    c,
                    subject.p(),
                    dp,
                    data.len(),
                    timeout(r) + 1,
                    if r.chance(90) { Some(on_reply) } else { None },
                    null_mut(),
                )),
            ),
            10 => ("nats_msg_respond", Some(nats_msg_respond(c, m, dp, data.len()))),
            11 => {
                let _ = (
                    nats_connection_status(c),
                    nats_connection_is_closed(c),
                    nats_connection_max_payload(c),
                    nats_connection_buffered(c),
                    opt_bytes(nats_connection_name(c)),
                );
                self.called.extend([
                    "nats_connection_name",
                    "nats_connection_is_closed",
                    "nats_connection_max_payload",
                    "nats_connection_buffered",
                ]);
                if r.chance(20) {
                    let (mut ip, mut port) = (null_mut(), 0u16);
                    let st =
                        nats_connection_local_address(c, &mut ip, if r.chance(5) { null_mut() } else { &mut port });
                    nats_string_free(ip);
                    return ("nats_connection_local_address", Some(st));
                }
                if r.chance(30) {
                    let mut sig = [0u8; NATS_NKEY_SIGNATURE_LEN];
                    let st = nats_connection_sign(
                        c,
                        dp,
                        data.len(),
                        if r.chance(5) { null_mut() } else { sig.as_mut_ptr() },
                    );
                    return ("nats_connection_sign", Some(st));
                }
                ("nats_connection_status", None)
            }
            12 => {
                let mut s = std::mem::MaybeUninit::uninit();
                (
                    "nats_connection_stats",
                    Some(nats_connection_stats(c, if r.chance(5) { null_mut() } else { s.as_mut_ptr() })),
                )
            }
            13 => {
                let mut rtt = 0;
                ("nats_connection_rtt", Some(nats_connection_rtt(c, if r.chance(5) { null_mut() } else { &mut rtt })))
            }
            14 if r.chance(10) => ("nats_connection_reconnect", Some(nats_connection_reconnect(c))),
            15 => {
                let mut inbox = null_mut();
                let st = nats_connection_new_inbox(c, if r.chance(5) { null_mut() } else { &mut inbox });
                nats_string_free(inbox);
                self.called.insert("nats_string_free");
                ("nats_connection_new_inbox", Some(st))
            }
            16 if r.chance(20) => ("nats_connection_drain", Some(nats_connection_drain(c, 1 + timeout(r) * 10))),
            17 if r.chance(20) => {
                nats_connection_close(c);
                ("nats_connection_close", None)
            }
            18 => {
                let mut info = null_mut();
                let st = nats_connection_server_info(c, if r.chance(5) { null_mut() } else { &mut info });
                keep(&mut self.p.server_infos, info);
                ("nats_connection_server_info", Some(st))
            }
            _ => ("nats_publish", Some(nats_publish(c, text("drv.a").p(), b"x".as_ptr().cast(), 1))),
        }
    }

    unsafe fn subscription_op(&mut self) -> Call {
        let r = &mut self.r;
        if self.p.subs.len() >= 12 {
            let s = take::<nats_subscription>(r, &mut self.p.subs);
            nats_subscription_free(s);
            return ("nats_subscription_free", None);
        }
        let c: *mut nats_connection = handle(r, &self.p.conns);
        let subject = any_str(r, SUBJECTS);
        let queue = any_str(r, &["workers", "q2"]);
        let sub: *mut nats_subscription = handle(r, &self.p.subs);
        let cb = if r.chance(95) {
            Some(on_msg as unsafe extern "C" fn(*mut c_void, *mut nats_subscription, *const nats_msg))
        } else {
            None
        };
        let mut out = null_mut();
        let outp = if r.chance(3) { null_mut() } else { &mut out as *mut _ };
        let call = match r.below(20) {
            0 => ("nats_subscribe", Some(nats_subscribe(c, subject.p(), cb, null_mut(), outp))),
            1 => ("nats_queue_subscribe", Some(nats_queue_subscribe(c, subject.p(), queue.p(), cb, null_mut(), outp))),
            2 => (
                "nats_subscribe_ex",
                Some(gave(nats_subscribe_ex(
                    c,
                    subject.p(),
                    if r.chance(50) { null() } else { queue.p() },
                    cb,
                    null_mut(),
                    Some(on_free),
                    outp,
                ))),
            ),
            3 => ("nats_subscribe_sync", Some(nats_subscribe_sync(c, subject.p(), outp))),
            4 => ("nats_queue_subscribe_sync", Some(nats_queue_subscribe_sync(c, subject.p(), queue.p(), outp))),
            5..=7 => {
                let mut m = null_mut();
                let st = nats_subscription_next_msg(sub, timeout(r), if r.chance(3) { null_mut() } else { &mut m });
                keep(&mut self.p.msgs, m);
                ("nats_subscription_next_msg", Some(st))
            }
            8 => ("nats_subscription_unsubscribe", Some(nats_subscription_unsubscribe(sub))),
            9 => ("nats_subscription_auto_unsubscribe", Some(nats_subscription_auto_unsubscribe(sub, any_u64(r)))),
            10 => ("nats_subscription_drain", Some(nats_subscription_drain(sub, 1 + timeout(r) * 10))),
            11 => (
                "nats_subscription_set_pending_limits",
                Some(nats_subscription_set_pending_limits(sub, any_i64(r), any_i64(r))),
            ),
            12 | 13 => {
                let (mut a, mut b) = (0i64, 0i64);
                let (ap, bp): (*mut i64, *mut i64) = if r.chance(5) { (null_mut(), &mut b) } else { (&mut a, &mut b) };
                match r.below(4) {
                    0 => ("nats_subscription_pending_limits", Some(nats_subscription_pending_limits(sub, ap, bp))),
                    1 => ("nats_subscription_pending", Some(nats_subscription_pending(sub, ap, bp))),
                    2 => ("nats_subscription_clear_max_pending", Some(nats_subscription_clear_max_pending(sub))),
                    _ => ("nats_subscription_max_pending", Some(nats_subscription_max_pending(sub, ap, bp))),
                }
            }
            14 => {
                let _ =
                    (nats_subscription_dropped(sub), nats_subscription_delivered(sub), nats_subscription_is_valid(sub));
                let _ = (nats_subscription_id(sub), opt_bytes(nats_subscription_subject(sub)));
                let _ = opt_bytes(nats_subscription_queue(sub));
                self.called.extend([
                    "nats_subscription_dropped",
                    "nats_subscription_delivered",
                    "nats_subscription_id",
                    "nats_subscription_subject",
                    "nats_subscription_queue",
                ]);
                if r.chance(30) {
                    let mut info = null_mut();
                    let st = nats_subscription_consumer_info(sub, if r.chance(5) { null_mut() } else { &mut info });
                    keep(&mut self.p.consumer_infos, info);
                    return ("nats_subscription_consumer_info", Some(st));
                }
                ("nats_subscription_is_valid", None)
            }
            15 => {
                nats_subscription_free(take(r, &mut self.p.subs));
                ("nats_subscription_free", None)
            }
            _ => ("nats_subscribe_sync", Some(nats_subscribe_sync(c, text("drv.a").p(), outp))),
        };
        keep(&mut self.p.subs, out);
        call
    }

    unsafe fn msg_op(&mut self) -> Call {
        let r = &mut self.r;
        if self.p.msgs.len() >= 40 {
            let m = take::<nats_msg>(r, &mut self.p.msgs);
            nats_msg_free(m);
            return ("nats_msg_free", None);
        }
        let m: *mut nats_msg = handle(r, &self.p.msgs);
        let key = any_str(r, &["X-Key", "Nats-Msg-Id", "Bad:Key", "k"]);
        let value = any_str(r, &["v1", "v2", ""]);
        match r.below(24) {
            0..=3 => {
                let (data, _) = any_payload(r);
                let mut out = null_mut();
                let reply = if r.chance(50) { Arg(None) } else { any_str(r, SUBJECTS) };
                let st = nats_msg_new(
                    any_str(r, SUBJECTS).p(),
                    reply.p(),
                    if data.is_empty() { null() } else { data.as_ptr().cast() },
                    data.len(),
                    if r.chance(3) { null_mut() } else { &mut out },
                );
                keep(&mut self.p.msgs, out);
                ("nats_msg_new", Some(st))
            }
            4 => ("nats_msg_header_set", Some(nats_msg_header_set(m, key.p(), value.p()))),
            5 => ("nats_msg_header_add", Some(nats_msg_header_add(m, key.p(), value.p()))),
            6 => ("nats_msg_header_delete", Some(nats_msg_header_delete(m, key.p()))),
            7 => {
                let mut v = null();
                let st = nats_msg_header_get(m, key.p(), if r.chance(5) { null_mut() } else { &mut v });
                if st == NATS_OK {
                    let _ = CStr::from_ptr(v).to_bytes();
                }
                ("nats_msg_header_get", Some(st))
            }
            8 => {
                let (mut v, mut n) = (null(), 0usize);
                (
                    "nats_msg_header_values",
                    Some(nats_msg_header_values(m, key.p(), &mut v, if r.chance(5) { null_mut() } else { &mut n })),
                )
            }
            9 => {
                let (mut k, mut n) = (null(), 0usize);
                (
                    "nats_msg_header_keys",
                    Some(nats_msg_header_keys(m, if r.chance(5) { null_mut() } else { &mut k }, &mut n)),
                )
            }
            10 => {
                let _ = (
                    nats_msg_status(m),
                    nats_msg_status_description(m),
                    nats_msg_subject(m),
                    nats_msg_reply(m),
                    nats_msg_data(m),
                    nats_msg_data_len(m),
                );
                self.called.extend([
                    "nats_msg_status_description",
                    "nats_msg_subject",
                    "nats_msg_reply",
                    "nats_msg_data",
                    "nats_msg_data_len",
                ]);
                ("nats_msg_status", None)
            }
            11 => {
                let mut out = null_mut();
                let st = nats_msg_clone(m, &mut out);
                keep(&mut self.p.msgs, out);
                ("nats_msg_clone", Some(st))
            }
            12 => {
                let _ = (nats_msg_sequence(m), nats_msg_timestamp(m));
                self.called.extend(["nats_msg_sequence", "nats_msg_timestamp"]);
                let mut meta = std::mem::MaybeUninit::uninit();
                (
                    "nats_msg_metadata",
                    Some(nats_msg_metadata(m, if r.chance(5) { null_mut() } else { meta.as_mut_ptr() })),
                )
            }
            13 => ("nats_msg_ack", Some(nats_msg_ack(m))),
            14 => ("nats_msg_ack_sync", Some(nats_msg_ack_sync(m, timeout(r) + 1))),
            15 => ("nats_msg_nak", Some(nats_msg_nak(m))),
            16 => ("nats_msg_nak_with_delay", Some(nats_msg_nak_with_delay(m, any_u64(r)))),
            17 => ("nats_msg_in_progress", Some(nats_msg_in_progress(m))),
            18 => ("nats_msg_term", Some(nats_msg_term(m))),
            19 => {
                nats_msg_free(take(r, &mut self.p.msgs));
                ("nats_msg_free", None)
            }
            _ => {
                let n = r.below(3).min(self.p.msgs.len());
                let list: Vec<*mut nats_msg> = (0..n).map(|_| take(r, &mut self.p.msgs)).collect();
                if list.is_empty() {
                    nats_msgs_free(null_mut(), 0);
                } else {
                    let boxed = list.into_boxed_slice();
                    let len = boxed.len();
                    // nats_msgs_free frees arrays the library handed out; hand it one built
                    // the same way (a boxed slice of owned messages).
                    nats_msgs_free(Box::into_raw(boxed).cast(), len);
                }
                ("nats_msgs_free", None)
            }
        }
    }

    unsafe fn jetstream_op(&mut self) -> Call {
        let r = &mut self.r;
        if self.p.jss.len() < 2 || r.chance(5) {
            if self.p.jsopts.is_empty() || r.chance(20) {
                let mut o = null_mut();
                let st = nats_jetstream_options_new(&mut o);
                if st == NATS_OK {
                    // The default 5 s would make every swallowed API request (a `>`
                    // subscriber elsewhere) cost 5 s.
                    ok(nats_jetstream_options_set_timeout_ms(o, 200));
                }
                keep(&mut self.p.jsopts, o);
                return ("nats_jetstream_options_new", Some(st));
            }
            let o: *mut nats_jetstream_options = handle(r, &self.p.jsopts);
            return match r.below(6) {
                0 => (
                    "nats_jetstream_options_set_domain",
                    Some(nats_jetstream_options_set_domain(o, any_str(r, &["hub", "nowhere"]).p())),
                ),
                1 => (
                    "nats_jetstream_options_set_api_prefix",
                    Some(nats_jetstream_options_set_api_prefix(o, any_str(r, &["$JS.API", "bogus.api"]).p())),
                ),
                2 => (
                    "nats_jetstream_options_set_timeout_ms",
                    Some(nats_jetstream_options_set_timeout_ms(o, *r.pick(&[1, 100, 300]))),
                ),
                3 => (
                    "nats_jetstream_options_set_max_pending_acks",
                    Some(nats_jetstream_options_set_max_pending_acks(o, any_u64(r) as usize)),
                ),
                4 => {
                    nats_jetstream_options_free(take(r, &mut self.p.jsopts));
                    ("nats_jetstream_options_free", None)
                }
                _ => {
                    let mut j = null_mut();
                    let c: *mut nats_connection = handle(r, &self.p.conns);
                    let st = nats_jetstream_new(c, if r.chance(3) || o.is_null() { null() } else { o }, &mut j);
                    keep(&mut self.p.jss, j);
                    ("nats_jetstream_new", Some(st))
                }
            };
        }
        let j: *mut nats_jetstream = handle(r, &self.p.jss);
        let subject = any_str(r, &["drv.js.x", "drv.js.y", "drv.unstored"]);
        let id = any_str(r, &["id-1", "id-2"]);
        let o = nats_js_publish_options {
            msg_id: if r.chance(50) { id.p() } else { null() },
            expected_stream: if r.chance(10) { any_str(r, STREAMS).0.map_or(null(), |c| c.into_raw()) } else { null() },
            expected_last_msg_id: null(),
            expected_last_sequence: any_u64(r),
            has_expected_last_sequence: r.chance(10),
            expected_last_subject_sequence: any_u64(r),
            has_expected_last_subject_sequence: r.chance(10),
            timeout_ms: *r.pick(&[0, 50, 200, 200]),
            max_retries: *r.pick(&[0, 0, 1, 2]),
            retry_wait_ms: *r.pick(&[0, 1, 10]),
        };
        let op = if r.chance(20) { null() } else { &o as *const _ };
        let m: *mut nats_msg = handle(r, &self.p.msgs);
        let mut ack = null_mut();
        let call = match r.below(8) {
            0 | 1 => (
                "nats_jetstream_publish",
                Some(nats_jetstream_publish(j, subject.p(), b"x".as_ptr().cast(), 1, op, &mut ack)),
            ),
            2 => ("nats_jetstream_publish_msg", Some(nats_jetstream_publish_msg(j, m, op, &mut ack))),
            3 | 4 => (
                "nats_jetstream_publish_async",
                Some(nats_jetstream_publish_async(
                    j,
                    subject.p(),
                    b"y".as_ptr().cast(),
                    1,
                    op,
                    if r.chance(80) { Some(on_ack) } else { None },
                    null_mut(),
                )),
            ),
            5 => (
                "nats_jetstream_publish_msg_async",
                Some(nats_jetstream_publish_msg_async(j, m, op, Some(on_ack), null_mut())),
            ),
            6 => (
                "nats_jetstream_publish_async_complete",
                Some(nats_jetstream_publish_async_complete(j, 1 + timeout(r) * 10)),
            ),
            _ => {
                let _ = nats_jetstream_publish_async_pending(j);
                if r.chance(20) {
                    nats_jetstream_free(take(r, &mut self.p.jss));
                    self.called.insert("nats_jetstream_free");
                }
                ("nats_jetstream_publish_async_pending", None)
            }
        };
        if !o.expected_stream.is_null() {
            drop(CString::from_raw(o.expected_stream.cast_mut()));
        }
        keep(&mut self.p.acks, ack);
        call
    }

    unsafe fn stream_consumer_op(&mut self) -> Call {
        let r = &mut self.r;
        let j: *mut nats_jetstream = handle(r, &self.p.jss);
        let stream = any_str(r, STREAMS);
        let consumer = any_str(r, CONSUMERS);
        let subjects = [text("drv.js2.>"), any_str(r, &["drv.js3.*"])];
        let subject_ptrs: Vec<*const c_char> = subjects.iter().map(|s| s.p()).collect();
        let mut scfg = common::js::stream_config();
        scfg.name = stream.p();
        scfg.subjects = if r.chance(5) { null() } else { subject_ptrs.as_ptr() };
        scfg.subjects_count = r.below(3);
        scfg.retention = any_enum(r, 3);
        scfg.storage = if r.chance(80) { 1 } else { any_enum(r, 2) };
        scfg.discard = any_enum(r, 2);
        scfg.replicas = *r.pick(&[0, 1, 3, u32::MAX]);
        scfg.max_msgs = any_i64(r);
        scfg.max_age_ms = any_u64(r);
        scfg.duplicate_window_ms = *r.pick(&[0, 100, u64::MAX]);
        let backoff = [100u64, 200];
        let mut ccfg = common::js::consumer_config();
        ccfg.durable_name = if r.chance(60) { consumer.p() } else { null() };
        ccfg.deliver_subject =
            if r.chance(20) { any_str(r, &["drv.deliver"]).0.map_or(null(), |c| c.into_raw()) } else { null() };
        ccfg.deliver_policy = any_enum(r, 6);
        ccfg.opt_start_seq = any_u64(r);
        ccfg.opt_start_time_ms = any_i64(r);
        ccfg.ack_policy = any_enum(r, 3);
        ccfg.ack_wait_ms = any_u64(r);
        ccfg.max_deliver = any_i64(r);
        ccfg.replay_policy = any_enum(r, 2);
        ccfg.max_ack_pending = any_i64(r);
        ccfg.inactive_threshold_ms = *r.pick(&[0, 1000, u64::MAX]);
        ccfg.idle_heartbeat_ms = *r.pick(&[0, 0, 100, u64::MAX]);
        ccfg.backoff_ms = if r.chance(10) { backoff.as_ptr() } else { null() };
        ccfg.backoff_count = if r.chance(10) { 2 } else { 0 };
        let cfgp = if r.chance(5) { null() } else { &ccfg as *const _ };
        let mut sinfo = null_mut();
        let mut cinfo = null_mut();
        let call = match r.below(30) {
            0 => (
                "nats_jetstream_stream_create",
                Some(nats_jetstream_stream_create(j, if r.chance(5) { null() } else { &scfg }, &mut sinfo)),
            ),
            1 => ("nats_jetstream_stream_update", Some(nats_jetstream_stream_update(j, &scfg, &mut sinfo))),
            2 if r.chance(30) => (
                "nats_jetstream_stream_delete",
                Some(nats_jetstream_stream_delete(j, any_str(r, &["DRV2", "NOPE"]).p())),
            ),
            3 => ("nats_jetstream_stream_info", Some(nats_jetstream_stream_info(j, stream.p(), &mut sinfo))),
            4 => {
                let mut purged = 0;
                let (name, filter) =
                    (any_str(r, &["DRV2", "NOPE"]), if r.chance(50) { Arg(None) } else { any_str(r, &["drv.js2.a"]) });
                ("nats_jetstream_stream_purge", Some(nats_jetstream_stream_purge(j, name.p(), filter.p(), &mut purged)))
            }
            5 => {
                let (mut names, mut n) = (null_mut(), 0usize);
                let st = nats_jetstream_stream_names(j, &mut names, if r.chance(5) { null_mut() } else { &mut n });
                nats_strings_free(names, n);
                self.called.insert("nats_strings_free");
                ("nats_jetstream_stream_names", Some(st))
            }
            6 => {
                let mut m = null_mut();
                let st = nats_jetstream_stream_get_msg(j, stream.p(), any_u64(r), &mut m);
                keep(&mut self.p.msgs, m);
                ("nats_jetstream_stream_get_msg", Some(st))
            }
            7 => {
                let mut m = null_mut();
                let st = nats_jetstream_stream_get_last_msg(j, stream.p(), any_str(r, &["drv.js.x"]).p(), &mut m);
                keep(&mut self.p.msgs, m);
                ("nats_jetstream_stream_get_last_msg", Some(st))
            }
            8 => (
                "nats_jetstream_consumer_create",
                Some(nats_jetstream_consumer_create(j, stream.p(), cfgp, &mut cinfo)),
            ),
            9 => (
                "nats_jetstream_consumer_update",
                Some(nats_jetstream_consumer_update(j, stream.p(), cfgp, &mut cinfo)),
            ),
            10 => (
                "nats_jetstream_consumer_delete",
                Some(nats_jetstream_consumer_delete(j, stream.p(), any_str(r, &["c2", "gone"]).p())),
            ),
            11 => (
                "nats_jetstream_consumer_info",
                Some(nats_jetstream_consumer_info(j, stream.p(), consumer.p(), &mut cinfo)),
            ),
            12 => {
                let (mut names, mut n) = (null_mut(), 0usize);
                let st = nats_jetstream_consumer_names(j, stream.p(), &mut names, &mut n);
                nats_strings_free(names, n);
                ("nats_jetstream_consumer_names", Some(st))
            }
            13 => {
                let mut pc = null_mut();
                let st = nats_jetstream_pull_consumer(j, stream.p(), consumer.p(), &mut pc);
                keep(&mut self.p.pcs, pc);
                ("nats_jetstream_pull_consumer", Some(st))
            }
            14 => {
                let pc: *mut nats_pull_consumer = handle(r, &self.p.pcs);
                let (mut msgs, mut n) = (null_mut(), 0usize);
                let st = if r.chance(50) {
                    (
                        "nats_pull_consumer_fetch",
                        nats_pull_consumer_fetch(pc, any_u64(r).min(20) as usize, 10 + timeout(r), &mut msgs, &mut n),
                    )
                } else {
                    (
                        "nats_pull_consumer_fetch_no_wait",
                        nats_pull_consumer_fetch_no_wait(pc, any_u64(r).min(20) as usize, &mut msgs, &mut n),
                    )
                };
                if st.1 == NATS_OK {
                    let list = std::slice::from_raw_parts_mut(msgs, n);
                    self.p.msgs.extend(list.iter().map(|m| *m as usize));
                    // The pool keeps the messages: NULL entries tell nats_msgs_free to free
                    // only the array, as the header documents.
                    list.fill(null_mut());
                    nats_msgs_free(msgs, n);
                }
                (st.0, Some(st.1))
            }
            15 => {
                let pc: *mut nats_pull_consumer = handle(r, &self.p.pcs);
                let mut m = null_mut();
                let st = nats_pull_consumer_next(pc, 10 + timeout(r), &mut m);
                keep(&mut self.p.msgs, m);
                ("nats_pull_consumer_next", Some(st))
            }
            16 => {
                let pc: *mut nats_pull_consumer = handle(r, &self.p.pcs);
                match r.below(3) {
                    0 => {
                        let mut s = null_mut();
                        let st = gave(nats_pull_consumer_consume(pc, Some(on_msg), null_mut(), Some(on_free), &mut s));
                        keep(&mut self.p.subs, s);
                        ("nats_pull_consumer_consume", Some(st))
                    }
                    1 => ("nats_pull_consumer_info", Some(nats_pull_consumer_info(pc, &mut cinfo))),
                    _ => {
                        nats_pull_consumer_free(take(r, &mut self.p.pcs));
                        ("nats_pull_consumer_free", None)
                    }
                }
            }
            17 => {
                let mut s = null_mut();
                let st = match r.below(3) {
                    0 => (
                        "nats_jetstream_subscribe",
                        gave(nats_jetstream_subscribe(
                            j,
                            stream.p(),
                            consumer.p(),
                            Some(on_msg),
                            null_mut(),
                            Some(on_free),
                            &mut s,
                        )),
                    ),
                    1 => (
                        "nats_jetstream_subscribe_sync",
                        nats_jetstream_subscribe_sync(j, stream.p(), consumer.p(), &mut s),
                    ),
                    _ => (
                        "nats_jetstream_subscribe_ordered",
                        gave(nats_jetstream_subscribe_ordered(
                            j,
                            stream.p(),
                            cfgp,
                            Some(on_msg),
                            null_mut(),
                            Some(on_free),
                            &mut s,
                        )),
                    ),
                };
                keep(&mut self.p.subs, s);
                (st.0, Some(st.1))
            }
            19 => {
                let mut purged = 0;
                let (subject, keep_n) = (if r.chance(50) { Arg(None) } else { any_str(r, &["drv.js2.a"]) }, any_u64(r));
                let o = nats_purge_options { subject: subject.p(), sequence: any_u64(r), keep: keep_n };
                let op = if r.chance(10) { null() } else { &o as *const _ };
                ("nats_jetstream_stream_purge_ex", Some(nats_jetstream_stream_purge_ex(j, stream.p(), op, &mut purged)))
            }
            20 if r.chance(50) => {
                ("nats_jetstream_stream_delete_msg", Some(nats_jetstream_stream_delete_msg(j, stream.p(), any_u64(r))))
            }
            20 => ("nats_jetstream_stream_erase_msg", Some(nats_jetstream_stream_erase_msg(j, stream.p(), any_u64(r)))),
            21 => {
                let (last, next) = (any_str(r, &["drv.js.x", "drv.*"]), any_str(r, &["drv.js.x", "drv.>"]));
                let o = nats_direct_get_options {
                    sequence: any_u64(r),
                    last_by_subject: if r.chance(50) { null() } else { last.p() },
                    next_by_subject: if r.chance(50) { null() } else { next.p() },
                };
                let mut m = null_mut();
                let st = nats_jetstream_stream_direct_get(j, stream.p(), if r.chance(5) { null() } else { &o }, &mut m);
                keep(&mut self.p.msgs, m);
                ("nats_jetstream_stream_direct_get", Some(st))
            }
            22 => {
                let (mut list, mut n) = (null_mut(), 0usize);
                let st = nats_jetstream_stream_infos(j, &mut list, if r.chance(5) { null_mut() } else { &mut n });
                if st == NATS_OK && n > 0 && r.chance(50) {
                    // Keep one snapshot for the accessors; the array gives it up.
                    let infos = std::slice::from_raw_parts_mut(list, n);
                    keep(&mut self.p.stream_infos, infos[0]);
                    infos[0] = null_mut();
                }
                nats_stream_infos_free(list, n);
                self.called.insert("nats_stream_infos_free");
                ("nats_jetstream_stream_infos", Some(st))
            }
            23 => {
                let mut a = null_mut();
                let st = nats_jetstream_account_info(j, if r.chance(5) { null_mut() } else { &mut a });
                if !a.is_null() {
                    let info = &*a;
                    let _ = (info.streams, info.limits.max_streams, info.tiers_count);
                }
                nats_account_info_free(a);
                self.called.insert("nats_account_info_free");
                ("nats_jetstream_account_info", Some(st))
            }
            24 => {
                let (mut list, mut n) = (null_mut(), 0usize);
                let st = nats_jetstream_consumer_infos(
                    j,
                    stream.p(),
                    &mut list,
                    if r.chance(5) { null_mut() } else { &mut n },
                );
                if st == NATS_OK && n > 0 && r.chance(50) {
                    let infos = std::slice::from_raw_parts_mut(list, n);
                    keep(&mut self.p.consumer_infos, infos[0]);
                    infos[0] = null_mut();
                }
                nats_consumer_infos_free(list, n);
                self.called.insert("nats_consumer_infos_free");
                ("nats_jetstream_consumer_infos", Some(st))
            }
            25 if r.chance(50) => {
                let mut paused = false;
                let until = *r.pick(&[0i64, 1, i64::MAX, 4_102_444_800_000_000_000]);
                (
                    "nats_jetstream_consumer_pause",
                    Some(nats_jetstream_consumer_pause(j, stream.p(), consumer.p(), until, &mut paused)),
                )
            }
            25 => ("nats_jetstream_consumer_resume", Some(nats_jetstream_consumer_resume(j, stream.p(), consumer.p()))),
            26 => {
                let pc: *mut nats_pull_consumer = handle(r, &self.p.pcs);
                let o = nats_fetch_options {
                    batch: any_u64(r).min(20) as usize,
                    max_bytes: *r.pick(&[0usize, 1, 300, usize::MAX]),
                    timeout_ms: 10 + timeout(r),
                    heartbeat_ms: *r.pick(&[0u64, 5, 100, u64::MAX]),
                    no_wait: r.chance(30),
                };
                let (mut msgs, mut n) = (null_mut(), 0usize);
                let st = nats_pull_consumer_fetch_ex(pc, if r.chance(5) { null() } else { &o }, &mut msgs, &mut n);
                if st == NATS_OK {
                    let list = std::slice::from_raw_parts_mut(msgs, n);
                    self.p.msgs.extend(list.iter().map(|m| *m as usize));
                    list.fill(null_mut());
                    nats_msgs_free(msgs, n);
                }
                ("nats_pull_consumer_fetch_ex", Some(st))
            }
            27 | 28 => {
                let (subject, durable, queue) =
                    (any_str(r, &["drv.js.x", "drv.js2.>"]), any_str(r, &["d1"]), any_str(r, &["q1"]));
                let o = nats_js_subscribe_options {
                    stream: if r.chance(50) { null() } else { stream.p() },
                    durable: if r.chance(50) { null() } else { durable.p() },
                    queue: if r.chance(70) { null() } else { queue.p() },
                    manual_ack: r.chance(50),
                    config: if r.chance(50) { null() } else { cfgp },
                };
                let op = if r.chance(20) { null() } else { &o as *const _ };
                if r.chance(50) {
                    let mut pc = null_mut();
                    let st = nats_jetstream_pull_subscribe(j, subject.p(), op, &mut pc);
                    keep(&mut self.p.pcs, pc);
                    ("nats_jetstream_pull_subscribe", Some(st))
                } else {
                    let mut s = null_mut();
                    let st = if r.chance(80) {
                        gave(nats_jetstream_subscribe_subject(
                            j,
                            subject.p(),
                            op,
                            Some(on_msg),
                            null_mut(),
                            Some(on_free),
                            &mut s,
                        ))
                    } else {
                        nats_jetstream_subscribe_subject(j, subject.p(), op, None, null_mut(), None, &mut s)
                    };
                    keep(&mut self.p.subs, s);
                    ("nats_jetstream_subscribe_subject", Some(st))
                }
            }
            18 => {
                let mut c = std::mem::MaybeUninit::uninit();
                (
                    "nats_consumer_config_init",
                    Some(nats_consumer_config_init(if r.chance(20) { null_mut() } else { c.as_mut_ptr() })),
                )
            }
            _ => {
                let mut c = std::mem::MaybeUninit::uninit();
                (
                    "nats_stream_config_init",
                    Some(nats_stream_config_init(if r.chance(20) { null_mut() } else { c.as_mut_ptr() })),
                )
            }
        };
        if !ccfg.deliver_subject.is_null() {
            drop(CString::from_raw(ccfg.deliver_subject.cast_mut()));
        }
        keep(&mut self.p.stream_infos, sinfo);
        keep(&mut self.p.consumer_infos, cinfo);
        call
    }

    unsafe fn kv_op(&mut self) -> Call {
        let r = &mut self.r;
        let j: *mut nats_jetstream = handle(r, &self.p.jss);
        let kv: *mut nats_kv = handle(r, &self.p.kvs);
        let key = any_str(r, KEYS);
        let bucket = any_str(r, BUCKETS);
        let mut rev = 0u64;
        let revp = if r.chance(30) { null_mut() } else { &mut rev as *mut u64 };
        let data = b"value";
        match r.below(27) {
            0 | 1 => {
                let mut cfg = common::js::kv_config_for(c"b1");
                cfg.bucket = bucket.p();
                cfg.history = any_i64(r);
                cfg.storage = if r.chance(80) { 1 } else { any_enum(r, 2) };
                cfg.ttl_ms = *r.pick(&[0, 1000, u64::MAX]);
                cfg.replicas = *r.pick(&[0, 1, 7]);
                cfg.limit_marker_ttl_ms = *r.pick(&[0, 0, 1000, u64::MAX]);
                let mut out = null_mut();
                let st = nats_jetstream_kv_create(j, if r.chance(5) { null() } else { &cfg }, &mut out);
                keep(&mut self.p.kvs, out);
                ("nats_jetstream_kv_create", Some(st))
            }
            2 => {
                let mut out = null_mut();
                let st = nats_jetstream_kv_bind(j, bucket.p(), &mut out);
                keep(&mut self.p.kvs, out);
                ("nats_jetstream_kv_bind", Some(st))
            }
            3 if r.chance(20) => {
                ("nats_jetstream_kv_delete", Some(nats_jetstream_kv_delete(j, any_str(r, &["b2", "missing"]).p())))
            }
            4 | 5 => ("nats_kv_put", Some(nats_kv_put(kv, key.p(), data.as_ptr().cast(), data.len(), revp))),
            6 => ("nats_kv_create", Some(nats_kv_create(kv, key.p(), data.as_ptr().cast(), data.len(), revp))),
            7 => (
                "nats_kv_create_with_ttl",
                Some(nats_kv_create_with_ttl(kv, key.p(), data.as_ptr().cast(), data.len(), any_u64(r), revp)),
            ),
            8 => (
                "nats_kv_update",
                Some(nats_kv_update(kv, key.p(), data.as_ptr().cast(), data.len(), any_u64(r), revp)),
            ),
            9 | 10 => {
                let mut e = null_mut();
                let st = if r.chance(50) {
                    ("nats_kv_get", nats_kv_get(kv, key.p(), &mut e))
                } else {
                    ("nats_kv_get_revision", nats_kv_get_revision(kv, key.p(), any_u64(r), &mut e))
                };
                keep(&mut self.p.entries, e);
                (st.0, Some(st.1))
            }
            11 if r.chance(30) => {
                let e: *mut nats_kv_entry = handle(r, &self.p.entries);
                let _ = (opt_bytes(nats_kv_entry_bucket(e)), opt_bytes(nats_kv_entry_value_string(e)));
                self.called.extend(["nats_kv_entry_bucket", "nats_kv_entry_value_string"]);
                let _ = opt_bytes(nats_kv_bucket(kv));
                ("nats_kv_bucket", None)
            }
            11 => ("nats_kv_delete", Some(nats_kv_delete(kv, key.p()))),
            12 => ("nats_kv_purge", Some(nats_kv_purge(kv, key.p()))),
            13 => {
                let (mut keys, mut n) = (null_mut(), 0usize);
                let st = nats_kv_keys(kv, &mut keys, if r.chance(5) { null_mut() } else { &mut n });
                nats_strings_free(keys, n);
                ("nats_kv_keys", Some(st))
            }
            14 => {
                let (mut es, mut n) = (null_mut(), 0usize);
                let st = nats_kv_history(kv, key.p(), &mut es, &mut n);
                nats_kv_entries_free(es, n);
                self.called.insert("nats_kv_entries_free");
                ("nats_kv_history", Some(st))
            }
            15 => {
                let mut w = null_mut();
                let st = gave(nats_kv_watch(
                    kv,
                    if r.chance(30) { null() } else { key.p() },
                    any_u64(r).min(5) as u32,
                    Some(on_entry),
                    null_mut(),
                    Some(on_free),
                    &mut w,
                ));
                keep(&mut self.p.watchers, w);
                ("nats_kv_watch", Some(st))
            }
            16 => {
                let w: *mut nats_kv_watcher = handle(r, &self.p.watchers);
                ("nats_kv_watcher_stop", Some(nats_kv_watcher_stop(w)))
            }
            17 => {
                nats_kv_watcher_free(take(r, &mut self.p.watchers));
                ("nats_kv_watcher_free", None)
            }
            20 => {
                let (k2, flags) = (any_str(r, KEYS), any_u64(r).min(20) as u32);
                let ptrs = [key.p(), k2.p()];
                let n = r.below(3);
                let mut w = null_mut();
                let (name, st) = if r.chance(50) {
                    let st = nats_kv_watch_multi(
                        kv,
                        ptrs.as_ptr(),
                        n,
                        flags,
                        Some(on_entry),
                        null_mut(),
                        Some(on_free),
                        &mut w,
                    );
                    ("nats_kv_watch_multi", gave(st))
                } else {
                    let keys = if r.chance(5) { null() } else { ptrs.as_ptr() };
                    ("nats_kv_watch_sync", nats_kv_watch_sync(kv, keys, n, flags, &mut w))
                };
                keep(&mut self.p.watchers, w);
                (name, Some(st))
            }
            21 => {
                let w: *mut nats_kv_watcher = handle(r, &self.p.watchers);
                let mut e = null_mut();
                let st = nats_kv_watcher_next(w, timeout(r), if r.chance(5) { null_mut() } else { &mut e });
                keep(&mut self.p.entries, e);
                ("nats_kv_watcher_next", Some(st))
            }
            22 => {
                let ptrs = [key.p()];
                let (mut keys, mut n) = (null_mut(), 0usize);
                let st = nats_kv_keys_filtered(
                    kv,
                    ptrs.as_ptr(),
                    r.below(2),
                    &mut keys,
                    if r.chance(5) { null_mut() } else { &mut n },
                );
                nats_strings_free(keys, n);
                ("nats_kv_keys_filtered", Some(st))
            }
            23 => {
                let mut purged = 0usize;
                ("nats_kv_purge_deletes", Some(nats_kv_purge_deletes(kv, *r.pick(&[0, 1, u64::MAX]), &mut purged)))
            }
            24 => {
                let mut st = std::mem::MaybeUninit::uninit();
                ("nats_kv_status", Some(nats_kv_status(kv, if r.chance(5) { null_mut() } else { st.as_mut_ptr() })))
            }
            25 => (
                "nats_kv_update_with_ttl",
                Some(nats_kv_update_with_ttl(
                    kv,
                    key.p(),
                    data.as_ptr().cast(),
                    data.len(),
                    any_u64(r),
                    any_u64(r),
                    revp,
                )),
            ),
            26 => {
                let (mut names, mut n) = (null_mut(), 0usize);
                let st = nats_jetstream_kv_names(j, &mut names, if r.chance(5) { null_mut() } else { &mut n });
                nats_strings_free(names, n);
                ("nats_jetstream_kv_names", Some(st))
            }
            18 => {
                let mut c = std::mem::MaybeUninit::uninit();
                (
                    "nats_kv_config_init",
                    Some(nats_kv_config_init(if r.chance(20) { null_mut() } else { c.as_mut_ptr() })),
                )
            }
            _ => {
                nats_kv_free(take(r, &mut self.p.kvs));
                ("nats_kv_free", None)
            }
        }
    }

    /// Accessors of info objects, acks and entries: they take NULL too.
    unsafe fn object_op(&mut self) -> Call {
        let r = &mut self.r;
        let j: *mut nats_jetstream = handle(r, &self.p.jss);
        let os: *mut nats_object_store = handle(r, &self.p.object_stores);
        let (bucket, name, name2) = (any_str(r, BUCKETS), any_str(r, &["o1", "dir/o 2"]), any_str(r, &["o1", "o3"]));
        let data = b"object data";
        let meta = nats_object_meta {
            name: name.p(),
            description: if r.chance(50) { null() } else { name2.p() },
            chunk_size: *r.pick(&[0usize, 1, 4, usize::MAX]),
            metadata_keys: null(),
            metadata_values: null(),
            metadata_count: 0,
        };
        let metap = if r.chance(5) { null() } else { &meta as *const _ };
        let mut info = null_mut();
        let infop = if r.chance(30) { null_mut() } else { &mut info as *mut _ };
        let call = match r.below(19) {
            17 => {
                let mut w = null_mut();
                let cb = if r.chance(5) { None } else { Some(drv_object as unsafe extern "C" fn(_, _)) };
                let st = nats_object_store_watch(os, r.chance(50), cb, null_mut(), Some(on_free), &mut w);
                keep(&mut self.p.object_watchers, w);
                ("nats_object_store_watch", Some(gave(st)))
            }
            18 if r.chance(50) => {
                let w: *mut nats_object_watcher = handle(r, &self.p.object_watchers);
                ("nats_object_watcher_stop", Some(nats_object_watcher_stop(w)))
            }
            18 => {
                nats_object_watcher_free(take(r, &mut self.p.object_watchers));
                ("nats_object_watcher_free", None)
            }
            14 => {
                let mut left = *r.pick(&[0usize, 5, 100_000]);
                let st = nats_object_store_put_stream(
                    os,
                    metap,
                    if r.chance(5) { None } else { Some(drv_read) },
                    (&mut left as *mut usize).cast(),
                    infop,
                );
                ("nats_object_store_put_stream", Some(st))
            }
            15 => {
                let mut stop = r.below(3);
                let cb = if r.chance(5) { None } else { Some(drv_write as unsafe extern "C" fn(_, _, _) -> _) };
                (
                    "nats_object_store_get_stream",
                    Some(nats_object_store_get_stream(os, name.p(), cb, (&mut stop as *mut usize).cast(), infop)),
                )
            }
            16 if r.chance(50) => {
                ("nats_object_store_add_link", Some(nats_object_store_add_link(os, name2.p(), name.p(), infop)))
            }
            16 => (
                "nats_object_store_add_bucket_link",
                Some(nats_object_store_add_bucket_link(os, name2.p(), bucket.p(), infop)),
            ),
            0 | 1 => {
                let mut cfg = std::mem::MaybeUninit::uninit();
                ok(nats_object_store_config_init(cfg.as_mut_ptr()));
                let mut cfg = cfg.assume_init();
                cfg.bucket = bucket.p();
                cfg.storage = if r.chance(80) { 1 } else { any_enum(r, 2) };
                cfg.ttl_ms = *r.pick(&[0, 1000, u64::MAX]);
                cfg.max_bytes = any_i64(r);
                let (key, value) = (any_str(r, &["owner"]), any_str(r, &["mta"]));
                let (keys, values) = ([key.p()], [value.p()]);
                if r.chance(30) {
                    cfg.metadata_keys = if r.chance(10) { null() } else { keys.as_ptr() };
                    cfg.metadata_values = values.as_ptr();
                    cfg.metadata_count = 1;
                }
                self.called.insert("nats_object_store_config_init");
                let mut out = null_mut();
                let st = nats_jetstream_object_store_create(j, if r.chance(5) { null() } else { &cfg }, &mut out);
                keep(&mut self.p.object_stores, out);
                ("nats_jetstream_object_store_create", Some(st))
            }
            2 => {
                let mut out = null_mut();
                let st = nats_jetstream_object_store_bind(j, bucket.p(), &mut out);
                keep(&mut self.p.object_stores, out);
                ("nats_jetstream_object_store_bind", Some(st))
            }
            3 if r.chance(20) => {
                ("nats_jetstream_object_store_delete", Some(nats_jetstream_object_store_delete(j, bucket.p())))
            }
            4 | 5 => (
                "nats_object_store_put",
                Some(nats_object_store_put(os, metap, data.as_ptr().cast(), data.len(), infop)),
            ),
            6 => {
                let mut fds = [-1; 2];
                if libc::pipe(fds.as_mut_ptr()) == 0 {
                    libc::write(fds[1], data.as_ptr().cast(), data.len());
                    libc::close(fds[1]);
                }
                let rd = fds[0];
                let fd = if r.chance(10) { -1 } else { rd };
                let st = nats_object_store_put_fd(os, metap, fd, infop);
                libc::close(rd);
                ("nats_object_store_put_fd", Some(st))
            }
            7 | 8 => {
                let (mut d, mut n) = (null_mut(), 0usize);
                let st =
                    nats_object_store_get(os, name.p(), &mut d, if r.chance(5) { null_mut() } else { &mut n }, infop);
                nats_bytes_free(d);
                self.called.insert("nats_bytes_free");
                ("nats_object_store_get", Some(st))
            }
            9 => {
                let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                let st = nats_object_store_get_fd(os, name.p(), if r.chance(10) { -1 } else { devnull }, infop);
                libc::close(devnull);
                ("nats_object_store_get_fd", Some(st))
            }
            10 => ("nats_object_store_info", Some(nats_object_store_info(os, name.p(), infop))),
            11 => {
                let (mut list, mut n) = (null_mut(), 0usize);
                let st = nats_object_store_list(os, &mut list, if r.chance(5) { null_mut() } else { &mut n });
                nats_object_infos_free(list, n);
                self.called.insert("nats_object_infos_free");
                ("nats_object_store_list", Some(st))
            }
            12 if r.chance(50) => ("nats_object_store_delete", Some(nats_object_store_delete(os, name.p()))),
            12 => ("nats_object_store_update_meta", Some(nats_object_store_update_meta(os, name2.p(), metap, infop))),
            3 => {
                let mut st = std::mem::MaybeUninit::uninit();
                (
                    "nats_object_store_status",
                    Some(nats_object_store_status(os, if r.chance(5) { null_mut() } else { st.as_mut_ptr() })),
                )
            }
            _ => {
                nats_object_store_free(take(r, &mut self.p.object_stores));
                ("nats_object_store_free", None)
            }
        };
        nats_object_info_free(info);
        self.called.insert("nats_object_info_free");
        call
    }

    /// Services: added with any configuration, endpoints and groups, stats, stop and free.
    unsafe fn service_op(&mut self) -> Call {
        let r = &mut self.r;
        let c: *mut nats_connection = handle(r, &self.p.conns);
        let svc: *mut nats_service = handle(r, &self.p.services);
        let group: *mut nats_service_group = handle(r, &self.p.service_groups);
        let (name, version) = (any_str(r, &["svc", "svc-2"]), any_str(r, &["1.0.0", "2.1.0-rc.1", "1.0"]));
        let (key, value) = (any_str(r, &["k"]), any_str(r, &["v"]));
        let (keys, values) = ([key.p()], [value.p()]);
        let queue = if r.chance(50) { Arg(None) } else { any_str(r, &["q", "workers"]) };
        match r.below(10) {
            0 => {
                let description = any_str(r, &["a service"]);
                let cfg = nats_service_config {
                    name: name.p(),
                    version: version.p(),
                    description: description.p(),
                    metadata_keys: if r.chance(10) { null() } else { keys.as_ptr() },
                    metadata_values: values.as_ptr(),
                    metadata_count: r.below(2),
                    queue_group: queue.p(),
                    stats_data: if r.chance(50) { Some(drv_stats_data) } else { None },
                    stats_data_user_data: null_mut(),
                };
                let mut out = null_mut();
                let st = nats_service_add(c, if r.chance(5) { null() } else { &cfg }, &mut out);
                if st == NATS_OK {
                    // An endpoint that is sure to be asked once (answered or not in 20 ms).
                    let cfg = nats_service_endpoint_config {
                        name: c"probe".as_ptr(),
                        subject: c"drv.svc.probe".as_ptr(),
                        queue_group: null(),
                        metadata_keys: null(),
                        metadata_values: null(),
                        metadata_count: 0,
                    };
                    let added =
                        nats_service_add_endpoint(out, null(), &cfg, Some(drv_service), null_mut(), Some(on_free));
                    if gave(added) == NATS_OK {
                        let mut reply = null_mut();
                        let _ = nats_request(c, c"drv.svc.probe".as_ptr(), null(), 0, 20, &mut reply);
                        nats_msg_free(reply);
                    }
                }
                keep(&mut self.p.services, out);
                ("nats_service_add", Some(st))
            }
            1 | 2 => {
                let (ep, subject) = (any_str(r, &["echo", "e2"]), any_str(r, SUBJECTS));
                let cfg = nats_service_endpoint_config {
                    name: ep.p(),
                    subject: if r.chance(30) { null() } else { subject.p() },
                    queue_group: queue.p(),
                    metadata_keys: keys.as_ptr(),
                    metadata_values: values.as_ptr(),
                    metadata_count: r.below(2),
                };
                let cb = if r.chance(5) { None } else { Some(drv_service as unsafe extern "C" fn(_, _)) };
                let st = nats_service_add_endpoint(
                    svc,
                    group,
                    if r.chance(5) { null() } else { &cfg },
                    cb,
                    null_mut(),
                    Some(on_free),
                );
                ("nats_service_add_endpoint", Some(gave(st)))
            }
            3 => {
                let prefix = any_str(r, &["drv", "svc.v1"]);
                let mut out = null_mut();
                let st = nats_service_add_group(svc, group, prefix.p(), queue.p(), &mut out);
                keep(&mut self.p.service_groups, out);
                ("nats_service_add_group", Some(st))
            }
            4 => {
                let mut out = null_mut();
                let st = nats_service_stats(svc, if r.chance(5) { null_mut() } else { &mut out });
                if !out.is_null() {
                    let _ = opt_bytes((*out).id);
                }
                nats_service_statistics_free(out);
                self.called.insert("nats_service_statistics_free");
                ("nats_service_stats", Some(st))
            }
            5 => ("nats_service_reset", Some(nats_service_reset(svc))),
            6 => {
                let _ = (nats_service_id(svc), nats_service_stopped(svc));
                self.called.insert("nats_service_id");
                ("nats_service_stopped", None)
            }
            7 => ("nats_service_stop", Some(nats_service_stop(svc, timeout(r)))),
            8 => {
                nats_service_group_free(take(r, &mut self.p.service_groups));
                ("nats_service_group_free", None)
            }
            _ => {
                nats_service_free(take(r, &mut self.p.services));
                ("nats_service_free", None)
            }
        }
    }

    unsafe fn info_op(&mut self) -> Call {
        let r = &mut self.r;
        let called = &mut self.called;
        match r.below(6) {
            0 => {
                let i: *mut nats_server_info = handle(r, &self.p.server_infos);
                let _ = (
                    nats_server_info_id(i),
                    nats_server_info_name(i),
                    nats_server_info_version(i),
                    nats_server_info_host(i),
                );
                let _ = (
                    nats_server_info_connected_url(i),
                    nats_server_info_client_ip(i),
                    nats_server_info_cluster(i),
                    nats_server_info_port(i),
                );
                let _ = (
                    nats_server_info_max_payload(i),
                    nats_server_info_client_id(i),
                    nats_server_info_jetstream(i),
                    nats_server_info_headers(i),
                    nats_server_info_lame_duck(i),
                );
                called.extend([
                    "nats_server_info_name",
                    "nats_server_info_version",
                    "nats_server_info_host",
                    "nats_server_info_connected_url",
                    "nats_server_info_client_ip",
                    "nats_server_info_cluster",
                    "nats_server_info_port",
                    "nats_server_info_max_payload",
                    "nats_server_info_client_id",
                    "nats_server_info_jetstream",
                    "nats_server_info_headers",
                    "nats_server_info_lame_duck",
                ]);
                let (mut urls, mut n) = (null(), 0usize);
                if r.chance(50) {
                    return ("nats_server_info_servers", Some(nats_server_info_servers(i, &mut urls, &mut n)));
                }
                called.insert("nats_server_info_id");
                (
                    "nats_server_info_discovered_servers",
                    Some(nats_server_info_discovered_servers(
                        i,
                        &mut urls,
                        if r.chance(5) { null_mut() } else { &mut n },
                    )),
                )
            }
            1 => {
                let i: *mut nats_stream_info = handle(r, &self.p.stream_infos);
                let _ = (
                    nats_stream_info_name(i),
                    nats_stream_info_messages(i),
                    nats_stream_info_bytes(i),
                    nats_stream_info_first_seq(i),
                    nats_stream_info_last_seq(i),
                    nats_stream_info_consumers(i),
                );
                called.extend([
                    "nats_stream_info_name",
                    "nats_stream_info_messages",
                    "nats_stream_info_bytes",
                    "nats_stream_info_first_seq",
                    "nats_stream_info_last_seq",
                    "nats_stream_info_consumers",
                ]);
                if r.chance(50) {
                    let _ = (
                        nats_stream_info_created_ns(i),
                        nats_stream_info_cluster_leader(i),
                        nats_stream_info_mirror(i),
                    );
                    called.extend([
                        "nats_stream_info_created_ns",
                        "nats_stream_info_cluster_leader",
                        "nats_stream_info_mirror",
                    ]);
                    let mut state = nats_stream_state::default();
                    let st = nats_stream_info_state(i, if r.chance(5) { null_mut() } else { &mut state });
                    if r.chance(50) {
                        return ("nats_stream_info_state", Some(st));
                    }
                    let (mut srcs, mut n) = (null(), 0usize);
                    let st = nats_stream_info_sources(i, &mut srcs, if r.chance(5) { null_mut() } else { &mut n });
                    if r.chance(50) {
                        return ("nats_stream_info_sources", Some(st));
                    }
                    let mut c = common::js::stream_config();
                    return (
                        "nats_stream_info_config",
                        Some(nats_stream_info_config(i, if r.chance(5) { null_mut() } else { &mut c })),
                    );
                }
                let (mut s, mut n) = (null(), 0usize);
                (
                    "nats_stream_info_subjects",
                    Some(nats_stream_info_subjects(i, &mut s, if r.chance(5) { null_mut() } else { &mut n })),
                )
            }
            2 => {
                let i: *mut nats_consumer_info = handle(r, &self.p.consumer_infos);
                let _ = (
                    nats_consumer_info_name(i),
                    nats_consumer_info_stream(i),
                    nats_consumer_info_is_push(i),
                    nats_consumer_info_num_pending(i),
                    nats_consumer_info_num_ack_pending(i),
                );
                let _ = (
                    nats_consumer_info_num_redelivered(i),
                    nats_consumer_info_num_waiting(i),
                    nats_consumer_info_delivered_stream_seq(i),
                    nats_consumer_info_delivered_consumer_seq(i),
                );
                let _ = (nats_consumer_info_ack_floor_stream_seq(i), nats_consumer_info_ack_floor_consumer_seq(i));
                let _ = (
                    nats_consumer_info_paused(i),
                    nats_consumer_info_pause_remaining_ms(i),
                    nats_consumer_info_created_ns(i),
                );
                called.extend([
                    "nats_consumer_info_paused",
                    "nats_consumer_info_pause_remaining_ms",
                    "nats_consumer_info_created_ns",
                ]);
                if r.chance(30) {
                    let mut c = common::js::consumer_config();
                    return (
                        "nats_consumer_info_config",
                        Some(nats_consumer_info_config(i, if r.chance(5) { null_mut() } else { &mut c })),
                    );
                }
                called.extend([
                    "nats_consumer_info_stream",
                    "nats_consumer_info_is_push",
                    "nats_consumer_info_num_pending",
                    "nats_consumer_info_num_ack_pending",
                    "nats_consumer_info_num_redelivered",
                    "nats_consumer_info_num_waiting",
                    "nats_consumer_info_delivered_stream_seq",
                    "nats_consumer_info_delivered_consumer_seq",
                    "nats_consumer_info_ack_floor_stream_seq",
                    "nats_consumer_info_ack_floor_consumer_seq",
                ]);
                ("nats_consumer_info_name", None)
            }
            3 => {
                let a: *mut nats_pub_ack = handle(r, &self.p.acks);
                let _ = (
                    nats_pub_ack_stream(a),
                    nats_pub_ack_domain(a),
                    nats_pub_ack_sequence(a),
                    nats_pub_ack_duplicate(a),
                );
                called.extend(["nats_pub_ack_domain", "nats_pub_ack_sequence", "nats_pub_ack_duplicate"]);
                ("nats_pub_ack_stream", None)
            }
            4 => {
                let e: *mut nats_kv_entry = handle(r, &self.p.entries);
                let _ = (
                    nats_kv_entry_key(e),
                    nats_kv_entry_value(e),
                    nats_kv_entry_value_len(e),
                    nats_kv_entry_revision(e),
                );
                let _ = (nats_kv_entry_delta(e), nats_kv_entry_created_ns(e), nats_kv_entry_operation(e));
                called.extend([
                    "nats_kv_entry_value",
                    "nats_kv_entry_value_len",
                    "nats_kv_entry_revision",
                    "nats_kv_entry_delta",
                    "nats_kv_entry_created_ns",
                    "nats_kv_entry_operation",
                ]);
                ("nats_kv_entry_key", None)
            }
            _ => {
                let mut c = std::mem::MaybeUninit::uninit();
                ("nats_consumer_config_init", Some(nats_consumer_config_init(c.as_mut_ptr())))
            }
        }
    }

    unsafe fn free_op(&mut self) -> Call {
        let r = &mut self.r;
        match r.below(6) {
            0 => {
                nats_server_info_free(take(r, &mut self.p.server_infos));
                ("nats_server_info_free", None)
            }
            1 => {
                nats_stream_info_free(take(r, &mut self.p.stream_infos));
                ("nats_stream_info_free", None)
            }
            2 => {
                nats_consumer_info_free(take(r, &mut self.p.consumer_infos));
                ("nats_consumer_info_free", None)
            }
            3 => {
                nats_pub_ack_free(take(r, &mut self.p.acks));
                ("nats_pub_ack_free", None)
            }
            4 => {
                nats_kv_entry_free(take(r, &mut self.p.entries));
                ("nats_kv_entry_free", None)
            }
            _ if !self.p.conns.is_empty() && r.chance(30) => self.free_conn(),
            _ => ("nats_string_free", {
                nats_string_free(null_mut());
                None
            }),
        }
    }

    /// One of this driver's dispatchers, made on first use.
    unsafe fn a_dispatcher(&mut self) -> *mut nats_dispatcher {
        if self.p.dispatchers.is_empty() {
            let mut d = null_mut();
            ok(nats_dispatcher_new(&mut d));
            self.p.dispatchers.push(d as usize);
        }
        *self.r.pick(&self.p.dispatchers) as *mut nats_dispatcher
    }

    /// Dispatchers and the delivery pool.
    unsafe fn delivery_op(&mut self) -> Call {
        let r = &mut self.r;
        let d: *mut nats_dispatcher = handle(r, &self.p.dispatchers);
        match r.below(6) {
            0 => {
                let mut out = null_mut();
                let st = nats_dispatcher_new(if self.p.dispatchers.len() >= 2 || r.chance(5) {
                    null_mut()
                } else {
                    &mut out
                });
                keep(&mut self.p.dispatchers, out);
                nats_dispatcher_free(null_mut());
                self.called.insert("nats_dispatcher_free");
                ("nats_dispatcher_new", Some(st))
            }
            1 | 2 => {
                let max = *r.pick(&[0, 1, 5, usize::MAX]);
                let mut ran = 0;
                (
                    "nats_dispatcher_dispatch",
                    Some(nats_dispatcher_dispatch(d, max, if r.chance(50) { &mut ran } else { null_mut() })),
                )
            }
            3 => ("nats_dispatcher_wait", Some(nats_dispatcher_wait(d, timeout(r)))),
            4 => ("nats_dispatcher_fd", {
                let _ = nats_dispatcher_fd(d);
                None
            }),
            _ => {
                let size = *r.pick(&[0, 1, 2, 3, NATS_DELIVERY_POOL_MAX_SIZE + 1, usize::MAX]);
                ("nats_ffi_set_delivery_pool_size", Some(nats_ffi_set_delivery_pool_size(size)))
            }
        }
    }

    /// Frees everything still held, as a user's shutdown would.
    unsafe fn release_all(&mut self) {
        let p = std::mem::take(&mut self.p);
        p.watchers.iter().for_each(|w| nats_kv_watcher_free(*w as *mut _));
        p.subs.iter().for_each(|s| nats_subscription_free(*s as *mut _));
        p.pcs.iter().for_each(|x| nats_pull_consumer_free(*x as *mut _));
        p.kvs.iter().for_each(|x| nats_kv_free(*x as *mut _));
        p.object_watchers.iter().for_each(|x| nats_object_watcher_free(*x as *mut _));
        p.object_stores.iter().for_each(|x| nats_object_store_free(*x as *mut _));
        p.services.iter().for_each(|x| nats_service_free(*x as *mut _));
        p.service_groups.iter().for_each(|x| nats_service_group_free(*x as *mut _));
        p.jss.iter().for_each(|x| nats_jetstream_free(*x as *mut _));
        p.jsopts.iter().for_each(|x| nats_jetstream_options_free(*x as *mut _));
        p.msgs.iter().for_each(|x| nats_msg_free(*x as *mut _));
        p.server_infos.iter().for_each(|x| nats_server_info_free(*x as *mut _));
        p.stream_infos.iter().for_each(|x| nats_stream_info_free(*x as *mut _));
        p.consumer_infos.iter().for_each(|x| nats_consumer_info_free(*x as *mut _));
        p.acks.iter().for_each(|x| nats_pub_ack_free(*x as *mut _));
        p.entries.iter().for_each(|x| nats_kv_entry_free(*x as *mut _));
        p.conns.iter().for_each(|x| nats_connection_free(*x as *mut _));
        p.opts.iter().for_each(|x| nats_options_free(*x as *mut _));
        // What was queued to the dispatchers (the last messages, closed events, each
        // subscription's user_data_free) runs here, before they go.
        for d in p.dispatchers.iter().map(|d| *d as *mut nats_dispatcher) {
            loop {
                ok(nats_dispatcher_dispatch(d, usize::MAX, null_mut()));
                if nats_dispatcher_wait(d, 500) != NATS_OK {
                    break;
                }
            }
            nats_dispatcher_free(d);
        }
    }
}

/// What each driver reports back to the test.
struct Progress {
    calls: AtomicU64,
    last: Mutex<String>,
}

/// Sets up what the calls work on: a stream with a durable pull and a push consumer, a
/// bucket, and a responder answering requests on `drv.svc.>`.
unsafe fn setup(url: &str) -> (Conn, *mut nats_subscription) {
    let conn = Conn::to(url);
    let j = common::js::js(&conn);
    common::js::create_stream(&j, "DRV", &["drv.js.>"], 0);
    for name in ["c1", "push1"] {
        let mut cfg = common::js::consumer_config();
        let (n, deliver) = (cs(name), cs("drv.deliver.push1"));
        cfg.durable_name = n.as_ptr();
        if name == "push1" {
            cfg.deliver_subject = deliver.as_ptr();
        }
        ok(nats_jetstream_consumer_create(j.raw(), cs("DRV").as_ptr(), &cfg, null_mut()));
    }
    let b = cs("b1");
    let mut kv_cfg = common::js::kv_config_for(&b);
    kv_cfg.history = 5;
    let mut kv = null_mut();
    ok(nats_jetstream_kv_create(j.raw(), &kv_cfg, &mut kv));
    nats_kv_free(kv);
    unsafe extern "C" fn echo(ud: *mut c_void, _: *mut nats_subscription, m: *const nats_msg) {
        let _ = nats_msg_respond(ud.cast(), m, nats_msg_data(m), nats_msg_data_len(m));
    }
    let mut sub = null_mut();
    ok(nats_subscribe(conn.raw(), cs("drv.svc.>").as_ptr(), Some(echo), conn.raw().cast(), &mut sub));
    conn.flush();
    (conn, sub)
}

#[test]
fn random_calls_over_the_whole_api() {
    let seeds: Vec<u64> = std::env::var("NATS_FFI_DRIVER_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| (1..=8).collect());
    let calls: u64 = std::env::var("NATS_FFI_DRIVER_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(12_500);
    let trace = std::env::var_os("NATS_FFI_DRIVER_TRACE").is_some();
    let documented = Arc::new(documented_statuses());
    let server = common::js::js_server();
    let url = server.url();
    let (service, service_sub) = unsafe { setup(&url) };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "s3cret\n").unwrap();

    let progress: Vec<Arc<Progress>> = seeds
        .iter()
        .map(|_| Arc::new(Progress { calls: AtomicU64::new(0), last: Mutex::new(String::new()) }))
        .collect();
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let coverage = Arc::new(Mutex::new(HashSet::<&'static str>::new()));
    let time_in = Arc::new(Mutex::new(HashMap::<&'static str, Duration>::new()));
    let started = Instant::now();
    let drivers: Vec<_> = seeds
        .iter()
        .zip(&progress)
        .map(|(&seed, prog)| {
            let (documented, prog, failures, coverage, time_in) =
                (documented.clone(), prog.clone(), failures.clone(), coverage.clone(), time_in.clone());
            let (url, dir) = (url.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                let mut d = Driver {
                    r: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
                    p: Pools::default(),
                    url,
                    dir,
                    called: HashSet::new(),
                    time_in: HashMap::new(),
                };
                for i in 0..calls {
                    let call_started = Instant::now();
                    let (name, status) = d.run_one();
                    *d.time_in.entry(name).or_default() += call_started.elapsed();
                    if trace {
                        eprintln!("seed {seed} call {i}: {name} -> {status:?}");
                    }
                    d.called.insert(name);
                    *prog.last.lock().unwrap() = format!("seed {seed}, call {i}: {name}");
                    prog.calls.fetch_add(1, Ordering::Relaxed);
                    let Some(st) = status else { continue };
                    let fail = if st == NATS_ERR_PANIC {
                        Some(format!("NATS_ERR_PANIC: {}", last_error()))
                    } else if st != NATS_OK && !documented.get(name).is_some_and(|s| s.contains(&status_name(st))) {
                        Some(format!("{st:?} is not documented for {name}: {}", last_error()))
                    } else {
                        None
                    };
                    if let Some(f) = fail {
                        failures.lock().unwrap().push(format!("seed {seed}, call {i}, {name}: {f}"));
                    }
                }
                unsafe { d.release_all() };
                coverage.lock().unwrap().extend(d.called);
                let mut times = time_in.lock().unwrap();
                for (name, t) in d.time_in {
                    *times.entry(name).or_default() += t;
                }
            })
        })
        .collect();

    // The watchdog: every driver must make progress; a call that blocks past its own
    // timeouts by a wide margin is a hang.
    let mut last_counts: Vec<(u64, Instant)> = progress.iter().map(|_| (0, Instant::now())).collect();
    while drivers.iter().any(|d| !d.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        for (p, (count, since)) in progress.iter().zip(last_counts.iter_mut()) {
            let now = p.calls.load(Ordering::Relaxed);
            if now != *count || now == calls {
                *count = now;
                *since = Instant::now();
            } else if since.elapsed() > Duration::from_secs(60) {
                panic!("hang: no call returned for 60 s; last: {}", p.last.lock().unwrap());
            }
        }
    }
    for d in drivers {
        if d.join().is_err() {
            panic!("a driver thread panicked (see above)");
        }
    }
    let total: u64 = progress.iter().map(|p| p.calls.load(Ordering::Relaxed)).sum();
    let failures = failures.lock().unwrap();
    // One line per function and status, with one example's detail.
    let mut distinct: HashMap<String, String> = HashMap::new();
    for f in failures.iter() {
        let what = f.splitn(3, ", ").nth(2).unwrap_or(f);
        let key = what.split(" is not documented").next().unwrap_or(what).to_string();
        distinct.entry(key).or_insert_with(|| f.clone());
    }
    let mut report: Vec<_> = distinct.into_values().collect();
    report.sort();
    assert!(failures.is_empty(), "{} failing calls, {} distinct:\n{}", failures.len(), report.len(), report.join("\n"));
    assert_eq!(PANICS_REPORTED.load(Ordering::Relaxed), 0, "NATS_ERR_PANIC reached a callback");
    // Everything was freed: each user_data_free runs once, after the last callback.
    let given = USER_DATA_GIVEN.load(Ordering::Relaxed);
    wait_until(Duration::from_secs(20), || USER_DATA_FREED.load(Ordering::Relaxed) >= given);
    assert_eq!(
        USER_DATA_FREED.load(Ordering::Relaxed),
        given,
        "user_data_free calls vs. successful calls that took one"
    );
    let mut covered = coverage.lock().unwrap();
    // Process-wide: called once, at the end (below).
    covered.insert("nats_ffi_shutdown");
    covered.insert("nats_ffi_set_runtime_threads");
    // Called from the service endpoints' callback, which answers in turn each way.
    if SERVICE_REQUESTS.load(Ordering::Relaxed) >= 5 {
        covered.extend(["nats_service_request_msg", "nats_service_respond", "nats_service_respond_error"]);
        covered.insert("nats_service_respond_msg");
    }
    let missing: Vec<_> = documented.keys().filter(|f| !covered.contains(f.as_str())).collect();
    assert!(missing.is_empty(), "never called: {missing:?}");
    println!(
        "api driver: {total} calls over seeds {seeds:?} in {:.1} s, {} functions, {} callbacks, {} user_data_free, {} service requests",
        started.elapsed().as_secs_f64(),
        covered.len(),
        CALLBACKS.load(Ordering::Relaxed),
        USER_DATA_FREED.load(Ordering::Relaxed),
        SERVICE_REQUESTS.load(Ordering::Relaxed)
    );
    let mut slowest: Vec<_> = time_in.lock().unwrap().iter().map(|(n, t)| (*t, *n)).collect();
    slowest.sort();
    slowest.reverse();
    println!(
        "time spent (all seeds): {:?}",
        slowest.iter().take(8).map(|(t, n)| format!("{n} {:.1}s", t.as_secs_f64())).collect::<Vec<_>>()
    );
    unsafe { nats_subscription_free(service_sub) };
    drop(service);
    // Whatever the drivers left open is closed; with their handles freed, nothing is left.
    let st = unsafe { nats_ffi_shutdown(10_000) };
    assert!(st == NATS_OK, "nats_ffi_shutdown after the drivers: {st:?} {}", last_error());
    let st = unsafe { nats_ffi_set_runtime_threads(2) };
    assert!(st == NATS_OK, "nats_ffi_set_runtime_threads after a shutdown: {st:?} {}", last_error());
}
