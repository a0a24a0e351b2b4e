//! Services (issue 19): endpoints answer requests and count them, groups prefix subjects and
//! set queue groups, and the discovery requests `$SRV.PING|INFO|STATS` are answered as the
//! micro protocol says — checked by hand and with async-nats' own service types — against a
//! real nats-server.

mod common;
use common::*;
use nats_ffi::*;
use serde_json::Value;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

type Service = Owned<nats_service>;

/// What an endpoint's callback saw and did.
#[derive(Default)]
struct Seen {
    /// Per request: its data, the thread it ran on, and what the respond call returned.
    requests: Mutex<Vec<(Vec<u8>, ThreadId, nats_status)>>,
    freed: AtomicUsize,
}

impl Seen {
    fn requests(&self) -> std::sync::MutexGuard<'_, Vec<(Vec<u8>, ThreadId, nats_status)>> {
        self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Answers `x` with `x!`; `fail` with an error response (500, "bad input", body "details").
unsafe extern "C" fn answer(ud: *mut c_void, req: *mut nats_service_request) {
    let seen = &*(ud as *const Seen);
    let data = msg_data(nats_service_request_msg(req));
    let st = if data == b"fail" {
        let d = cs("bad input");
        nats_service_respond_error(req, 500, d.as_ptr(), b"details".as_ptr().cast(), 7)
    } else {
        let mut reply = data.clone();
        reply.push(b'!');
        nats_service_respond(req, reply.as_ptr().cast(), reply.len())
    };
    seen.requests().push((data, std::thread::current().id(), st));
}

unsafe extern "C" fn freed(ud: *mut c_void) {
    (*(ud as *const Seen)).freed.fetch_add(1, Ordering::SeqCst);
}

/// The stats-data callback: `{"endpoint": <name>}`, except for `raw`: text that is not JSON.
unsafe extern "C" fn stats_data(ud: *mut c_void, e: *const nats_endpoint_statistics) -> *const c_char {
    if !ud.is_null() {
        (*(ud as *const Mutex<Vec<ThreadId>>)).lock().unwrap().push(std::thread::current().id());
    }
    thread_local!(static TEXT: std::cell::RefCell<CString> = std::cell::RefCell::new(CString::default()));
    let name = CStr::from_ptr((*e).name).to_str().unwrap().to_string();
    assert!((*e).data.is_null());
    let text = if name == "raw" { "not json".to_string() } else { format!("{{\"endpoint\":\"{name}\"}}") };
    TEXT.with(|t| {
        *t.borrow_mut() = cs(&text);
        t.borrow().as_ptr()
    })
}

struct Config {
    name: CString,
    version: CString,
    description: CString,
    keys: Vec<CString>,
    values: Vec<CString>,
    queue_group: Option<CString>,
    with_stats_data: bool,
    /// Where the stats-data callback records its threads.
    stats_threads: Option<&'static Mutex<Vec<ThreadId>>>,
}

impl Config {
    fn new(name: &str, version: &str) -> Config {
        Config {
            name: cs(name),
            version: cs(version),
            description: cs("mail policy checks"),
            keys: vec![cs("site")],
            values: vec![cs("eu-1")],
            queue_group: None,
            with_stats_data: false,
            stats_threads: None,
        }
    }

    fn add(&self, c: &Conn) -> Result<Service, nats_status> {
        let keys: Vec<*const c_char> = self.keys.iter().map(|k| k.as_ptr()).collect();
        let values: Vec<*const c_char> = self.values.iter().map(|v| v.as_ptr()).collect();
        let cfg = nats_service_config {
            name: self.name.as_ptr(),
            version: self.version.as_ptr(),
            description: self.description.as_ptr(),
            metadata_keys: keys.as_ptr(),
            metadata_values: values.as_ptr(),
            metadata_count: keys.len(),
            queue_group: self.queue_group.as_ref().map_or(null(), |q| q.as_ptr()),
            stats_data: if self.with_stats_data { Some(stats_data) } else { None },
            stats_data_user_data: self.stats_threads.map_or(null_mut(), |t| t as *const _ as *mut c_void),
        };
        let mut s = null_mut();
        match unsafe { nats_service_add(c.raw(), &cfg, &mut s) } {
            NATS_OK => Ok(Service::from_raw(s)),
            e => {
                assert!(s.is_null());
                Err(e)
            }
        }
    }
}

fn endpoint_cfg(name: &CString, subject: Option<&CString>, queue: Option<&CString>) -> nats_service_endpoint_config {
    nats_service_endpoint_config {
        name: name.as_ptr(),
        subject: subject.map_or(null(), |s| s.as_ptr()),
        queue_group: queue.map_or(null(), |q| q.as_ptr()),
        metadata_keys: null(),
        metadata_values: null(),
        metadata_count: 0,
    }
}

/// Adds endpoint `name` (on `subject`, in `group`) answered by [`answer`] into `seen`.
fn add_endpoint(
    s: &Service,
    group: *const nats_service_group,
    name: &str,
    subject: Option<&str>,
    seen: &Seen,
) -> nats_status {
    let (name, subject) = (cs(name), subject.map(cs));
    let cfg = endpoint_cfg(&name, subject.as_ref(), None);
    unsafe {
        nats_service_add_endpoint(s.raw(), group, &cfg, Some(answer), seen as *const Seen as *mut c_void, Some(freed))
    }
}

fn group(s: &Service, parent: *const nats_service_group, name: &str, queue: Option<&str>) -> *mut nats_service_group {
    let (name, queue) = (cs(name), queue.map(cs));
    let mut g = null_mut();
    ok(unsafe {
        nats_service_add_group(s.raw(), parent, name.as_ptr(), queue.as_ref().map_or(null(), |q| q.as_ptr()), &mut g)
    });
    g
}

/// Leaked: an endpoint's `user_data_free` may run after the test's last line.
fn seen() -> &'static Seen {
    Box::leak(Box::default())
}

fn id(s: &Service) -> String {
    unsafe { CStr::from_ptr(nats_service_id(s.raw())) }.to_str().unwrap().to_string()
}

fn header(m: &Msg, key: &str) -> Option<String> {
    let k = cs(key);
    let mut v = null();
    match unsafe { nats_msg_header_get(m.raw(), k.as_ptr(), &mut v) } {
        NATS_OK => Some(unsafe { CStr::from_ptr(v) }.to_str().unwrap().to_string()),
        _ => None,
    }
}

/// One endpoint's counters from `nats_service_stats`.
#[derive(Debug)]
struct EndpointCounters {
    name: String,
    subject: String,
    queue_group: String,
    requests: u64,
    errors: u64,
    processing_ns: u64,
    average_ns: u64,
    last_error: String,
    data: Option<String>,
}

fn stats(s: &Service) -> (String, i64, Vec<EndpointCounters>) {
    let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    let mut out = null_mut();
    ok(unsafe { nats_service_stats(s.raw(), &mut out) });
    let st = unsafe { &*out };
    let endpoints = (0..st.endpoints_count)
        .map(|i| {
            let e = unsafe { &*st.endpoints.add(i) };
            EndpointCounters {
                name: text(e.name),
                subject: text(e.subject),
                queue_group: text(e.queue_group),
                requests: e.requests,
                errors: e.errors,
                processing_ns: e.processing_time_ns,
                average_ns: e.average_processing_time_ns,
                last_error: text(e.last_error),
                data: (!e.data.is_null()).then(|| text(e.data)),
            }
        })
        .collect();
    let result = (text(st.id), st.started_ns, endpoints);
    unsafe { nats_service_statistics_free(out) };
    result
}

/// The stats once `done` holds for the endpoints (or after [`WAIT`]): a request is counted
/// when its handler has returned, which may be just after the requester got the reply.
fn stats_when(s: &Service, done: impl Fn(&[EndpointCounters]) -> bool) -> (String, i64, Vec<EndpointCounters>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = stats(s);
        if done(&st.2) || Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn json(m: &Msg) -> Value {
    serde_json::from_slice(&m.data()).unwrap()
}

#[test]
fn endpoints_answer_count_and_stop() {
    let server = Server::start();
    let c = Conn::to(&server.url());
    let svc = Config::new("policy", "1.2.3").add(&c).unwrap();
    let seen = seen();
    ok(add_endpoint(&svc, null(), "check", Some("policy.check"), seen));
    let v1 = group(&svc, null(), "v1", Some("workers"));
    let scores = group(&svc, v1, "scores", None);
    ok(add_endpoint(&svc, scores, "score", None, seen));
    unsafe {
        nats_service_group_free(scores);
        nats_service_group_free(v1);
    }
    c.flush();
    let client = Conn::to(&server.url());

    let reply = client.request("policy.check", b"ok", 5000).unwrap();
    assert_eq!(reply.data(), b"ok!");
    assert_eq!(header(&reply, "Nats-Service-Error"), None);
    let failed = client.request("policy.check", b"fail", 5000).unwrap();
    assert_eq!(failed.data(), b"details");
    assert_eq!(header(&failed, "Nats-Service-Error").as_deref(), Some("bad input"));
    assert_eq!(header(&failed, "Nats-Service-Error-Code").as_deref(), Some("500"));
    // A group's prefix, and its parent's, come before the endpoint's subject.
    assert_eq!(client.request("v1.scores.score", b"s", 5000).unwrap().data(), b"s!");

    // Published without a reply subject: the handler runs, its response has nowhere to go.
    ok(client.publish("policy.check", b"lost"));
    client.flush();
    assert!(wait_until(WAIT, || seen.requests().len() == 4));
    assert_eq!(seen.requests()[3].2, NATS_ERR_NO_REPLY_SUBJECT);

    // A request is counted once its handler returned, a moment after its reply went out.
    let (svc_id, started, endpoints) = stats_when(&svc, |e| e.iter().map(|e| e.requests).sum::<u64>() == 4);
    assert_eq!(svc_id, id(&svc));
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    assert!(started > 0 && started <= now_ns, "{started}");
    let [checked, score] = endpoints.try_into().unwrap();
    assert_eq!(
        (checked.name.as_str(), checked.subject.as_str(), checked.queue_group.as_str()),
        ("check", "policy.check", "q")
    );
    assert_eq!(
        (score.name.as_str(), score.subject.as_str(), score.queue_group.as_str()),
        ("score", "v1.scores.score", "workers")
    );
    assert_eq!((checked.requests, checked.errors, checked.last_error.as_str()), (3, 1, "500:bad input"));
    assert_eq!((score.requests, score.errors, score.last_error.as_str()), (1, 0, ""));
    assert!(checked.processing_ns > 0 && checked.average_ns == checked.processing_ns / 3, "{checked:?}");
    assert_eq!(checked.data, None, "no stats_data callback: no data");

    ok(unsafe { nats_service_reset(svc.raw()) });
    let (_, restarted, endpoints) = stats(&svc);
    assert!(restarted >= started);
    assert!(endpoints
        .iter()
        .all(|e| e.requests == 0 && e.errors == 0 && e.processing_ns == 0 && e.last_error.is_empty()));

    // Stopped: no answers, no discovery, each endpoint's user_data released once.
    assert!(!unsafe { nats_service_stopped(svc.raw()) });
    ok(unsafe { nats_service_stop(svc.raw(), 5000) });
    ok(unsafe { nats_service_stop(svc.raw(), 5000) });
    assert!(unsafe { nats_service_stopped(svc.raw()) });
    assert!(wait_until(WAIT, || seen.freed.load(Ordering::SeqCst) == 2));
    check(client.request("policy.check", b"ok", 2000).map(drop).unwrap_err(), NATS_ERR_NO_RESPONDERS);
    check(client.request("$SRV.PING.policy", b"", 2000).map(drop).unwrap_err(), NATS_ERR_NO_RESPONDERS);
    check(add_endpoint(&svc, null(), "late", None, seen), NATS_ERR_INVALID_ARGUMENT);
    drop(svc);
    assert_eq!(seen.freed.load(Ordering::SeqCst), 2, "released once");
}

#[test]
fn discovery_answers_as_the_micro_protocol_says() {
    let server = Server::start();
    let (c1, c2) = (Conn::to(&server.url()), Conn::to(&server.url()));
    let mut with_data = Config::new("policy", "2.0.0-rc.1+b7");
    with_data.with_stats_data = true;
    let first = with_data.add(&c1).unwrap();
    let second = Config::new("policy", "2.0.0-rc.1+b7").add(&c2).unwrap();
    let other = Config::new("other", "0.1.0").add(&c2).unwrap();
    let seen = seen();
    ok(add_endpoint(&first, null(), "check", Some("policy.check"), seen));
    ok(add_endpoint(&first, null(), "raw", None, seen));
    ok(add_endpoint(&second, null(), "check", Some("policy.check"), seen));
    c1.flush();
    c2.flush();
    let client = Conn::to(&server.url());
    assert_eq!(client.request("policy.check", b"x", 5000).unwrap().data(), b"x!");
    let first_id = id(&first);
    assert_ne!(first_id, id(&second));

    // Hand-written requests to one instance.
    let ping = json(&client.request(&format!("$SRV.PING.policy.{first_id}"), b"", 5000).unwrap());
    assert_eq!(ping["type"], "io.nats.micro.v1.ping_response");
    assert_eq!((ping["name"].as_str(), ping["id"].as_str()), (Some("policy"), Some(first_id.as_str())));
    assert_eq!(ping["version"], "2.0.0-rc.1+b7");
    assert_eq!(ping["metadata"], serde_json::json!({"site": "eu-1"}));

    let info = json(&client.request(&format!("$SRV.INFO.policy.{first_id}"), b"", 5000).unwrap());
    assert_eq!(info["type"], "io.nats.micro.v1.info_response");
    assert_eq!(info["description"], "mail policy checks");
    assert_eq!(
        info["endpoints"],
        serde_json::json!([
            {"name": "check", "subject": "policy.check", "queue_group": "q", "metadata": {}},
            {"name": "raw", "subject": "raw", "queue_group": "q", "metadata": {}},
        ])
    );

    let stats_text = client.request(&format!("$SRV.STATS.policy.{first_id}"), b"", 5000).unwrap();
    let st = json(&stats_text);
    assert_eq!(st["type"], "io.nats.micro.v1.stats_response");
    assert!(st["started"].as_str().unwrap().ends_with('Z'), "{st}");
    let check_stats = &st["endpoints"][0];
    assert_eq!(check_stats["name"], "check");
    assert!(check_stats["num_requests"].as_u64().unwrap() <= 1, "one request, to either instance");
    assert_eq!(check_stats["num_errors"], 0);
    assert_eq!(check_stats["last_error"], "");
    assert!(check_stats["processing_time"].is_u64() && check_stats["average_processing_time"].is_u64());
    assert_eq!(check_stats["data"], serde_json::json!({"endpoint": "check"}));
    assert_eq!(st["endpoints"][1]["data"], "not json", "text that is not JSON is sent as a string");
    let second_id = id(&second);
    let plain = json(&client.request(&format!("$SRV.STATS.policy.{second_id}"), b"", 5000).unwrap());
    assert!(plain["endpoints"][0].get("data").is_none(), "no stats_data: no data field: {plain}");

    // async-nats' own service types read every answer, and its client finds each instance.
    let url = server.url();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use async_nats::service::{Info, PingResponse, Stats};
        use futures_util::StreamExt;
        let _: PingResponse = serde_json::from_value(ping).unwrap();
        let parsed: Info = serde_json::from_value(info).unwrap();
        assert_eq!(parsed.endpoints.len(), 2);
        let parsed: Stats = serde_json::from_slice(&stats_text.data()).unwrap();
        assert_eq!(parsed.endpoints[0].name, "check");

        let client = async_nats::connect(url).await.unwrap();
        // Every service, then every instance of one name: collected until each was seen.
        for (subject, want) in
            [("$SRV.PING", vec!["other", "policy", "policy"]), ("$SRV.PING.policy", vec!["policy", "policy"])]
        {
            let inbox = client.new_inbox();
            let mut replies = client.subscribe(inbox.clone()).await.unwrap();
            client.publish_with_reply(subject, inbox, "".into()).await.unwrap();
            let mut seen = Vec::new();
            let deadline = tokio::time::Instant::now() + WAIT;
            while seen.len() < want.len() {
                let m = tokio::time::timeout_at(deadline, replies.next()).await.unwrap().unwrap();
                let p: PingResponse = serde_json::from_slice(&m.payload).unwrap();
                seen.push((p.name, p.id));
            }
            seen.sort();
            assert_eq!(seen.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), want, "{subject}");
            let ids: std::collections::HashSet<_> = seen.iter().map(|(_, id)| id).collect();
            assert_eq!(ids.len(), want.len(), "each instance answers once: {seen:?}");
        }
        let info = client.request(format!("$SRV.INFO.other.{}", id_of(&other)), "".into()).await.unwrap();
        let info: Info = serde_json::from_slice(&info.payload).unwrap();
        assert_eq!((info.name.as_str(), info.endpoints.len()), ("other", 0));
    });
}

fn id_of(s: &Service) -> String {
    id(s)
}

#[test]
fn bad_configurations_are_refused() {
    let server = Server::start();
    let c = Conn::to(&server.url());
    for (name, version) in
        [("a.b", "1.0.0"), ("", "1.0.0"), ("sp ace", "1.0.0"), ("ok", "1.0"), ("ok", "v1.0.0"), ("ok", "1.0.0-")]
    {
        check(Config::new(name, version).add(&c).map(drop).unwrap_err(), NATS_ERR_INVALID_ARGUMENT);
    }
    let mut bad_queue = Config::new("ok", "1.0.0");
    bad_queue.queue_group = Some(cs("a b"));
    check(bad_queue.add(&c).map(drop).unwrap_err(), NATS_ERR_INVALID_SUBJECT);
    let mut s = null_mut();
    check(unsafe { nats_service_add(c.raw(), null(), &mut s) }, NATS_ERR_NULL_ARGUMENT);
    let svc = Config::new("ok", "1.0.0").add(&c).unwrap();
    let seen = seen();
    ok(add_endpoint(&svc, null(), "one", None, seen));
    check(add_endpoint(&svc, null(), "one", Some("elsewhere"), seen), NATS_ERR_INVALID_ARGUMENT);
    check(add_endpoint(&svc, null(), "a.b", None, seen), NATS_ERR_INVALID_ARGUMENT);
    check(add_endpoint(&svc, null(), "two", Some("a..b"), seen), NATS_ERR_INVALID_SUBJECT);
    let name = cs("three");
    let cfg = endpoint_cfg(&name, None, None);
    check(
        unsafe { nats_service_add_endpoint(svc.raw(), null(), &cfg, None, null_mut(), None) },
        NATS_ERR_NULL_ARGUMENT,
    );
    let mut g = null_mut();
    check(unsafe { nats_service_add_group(svc.raw(), null(), null(), null(), &mut g) }, NATS_ERR_NULL_ARGUMENT);
    let empty = cs("");
    check(
        unsafe { nats_service_add_group(svc.raw(), null(), empty.as_ptr(), null(), &mut g) },
        NATS_ERR_INVALID_SUBJECT,
    );
    assert!(g.is_null());
    // Failed adds leave user_data to the caller.
    assert_eq!(seen.freed.load(Ordering::SeqCst), 0);
    assert!(unsafe { nats_service_id(null()) }.is_null());
    assert!(!unsafe { nats_service_stopped(null()) });
    check(unsafe { nats_service_stop(null_mut(), 0) }, NATS_ERR_NULL_ARGUMENT);
    assert!(unsafe { nats_service_request_msg(null()) }.is_null());
    check(unsafe { nats_service_respond(null_mut(), null(), 0) }, NATS_ERR_NULL_ARGUMENT);
    unsafe {
        nats_service_free(null_mut());
        nats_service_group_free(null_mut());
        nats_service_statistics_free(null_mut());
    }
    drop(svc);
    // Once the drain has run its course.
    assert!(
        wait_until(WAIT, || seen.freed.load(Ordering::SeqCst) == 1),
        "the endpoint's user_data released after free"
    );
}

/// An error response with no description is refused; the request is still counted.
unsafe extern "C" fn refuse_empty_error(ud: *mut c_void, req: *mut nats_service_request) {
    let seen = &*(ud as *const Seen);
    let empty = cs("");
    let st = nats_service_respond_error(req, 400, empty.as_ptr(), null(), 0);
    let line = cs("two\r\nlines");
    let st2 = nats_service_respond_error(req, 400, line.as_ptr(), null(), 0);
    let resp = {
        let mut m = null_mut();
        let s = cs("ignored");
        ok(nats_msg_new(s.as_ptr(), null(), b"with header".as_ptr().cast(), 11, &mut m));
        let (k, v) = (cs("Content-Type"), cs("text/plain"));
        ok(nats_msg_header_set(m, k.as_ptr(), v.as_ptr()));
        m
    };
    ok(nats_service_respond_msg(req, resp));
    nats_msg_free(resp);
    seen.requests().push((vec![st as u8, st2 as u8], std::thread::current().id(), NATS_OK));
}

#[test]
fn responses_with_headers_and_refused_error_responses() {
    let server = Server::start();
    let c = Conn::to(&server.url());
    let svc = Config::new("hdr", "1.0.0").add(&c).unwrap();
    let seen = seen();
    let name = cs("h");
    let cfg = endpoint_cfg(&name, None, None);
    ok(unsafe {
        nats_service_add_endpoint(
            svc.raw(),
            null(),
            &cfg,
            Some(refuse_empty_error),
            seen as *const Seen as *mut c_void,
            None,
        )
    });
    c.flush();
    let reply = c.request("h", b"", 5000).unwrap();
    assert_eq!(reply.data(), b"with header");
    assert_eq!(header(&reply, "Content-Type").as_deref(), Some("text/plain"));
    assert_eq!(header(&reply, "Nats-Service-Error"), None);
    // The callback records what it saw after it responded: the reply can arrive first.
    assert!(wait_until(WAIT, || !seen.requests().is_empty()), "the callback recorded nothing");
    let (st, st2) = {
        let r = seen.requests();
        (r[0].0[0], r[0].0[1])
    };
    assert_eq!((st, st2), (NATS_ERR_INVALID_ARGUMENT as u8, NATS_ERR_INVALID_ARGUMENT as u8));
    let (_, _, endpoints) = stats_when(&svc, |e| e[0].requests == 1);
    assert_eq!((endpoints[0].requests, endpoints[0].errors), (1, 0), "a refused error response is no error");
}

/// With a dispatcher, endpoint callbacks and the stats-data callback run inside
/// `nats_dispatcher_dispatch`, on the dispatching thread; PING is answered meanwhile.
#[test]
fn callbacks_run_on_the_dispatcher() {
    let server = Server::start();
    let mut d = null_mut();
    ok(unsafe { nats_dispatcher_new(&mut d) });
    let d = Owned::<nats_dispatcher>::from_raw(d);
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_set_dispatcher(o.raw(), d.raw()) });
    let c = o.connect().unwrap();
    let mut cfg = Config::new("dispatched", "1.0.0");
    cfg.with_stats_data = true;
    let stats_threads: &'static Mutex<Vec<ThreadId>> = Box::leak(Box::default());
    cfg.stats_threads = Some(stats_threads);
    let svc = cfg.add(&c).unwrap();
    let seen = seen();
    ok(add_endpoint(&svc, null(), "work", None, seen));
    c.flush();
    let url = server.url();
    let svc_id = id(&svc);
    let asker = std::thread::spawn(move || {
        let client = Conn::to(&url);
        // Discovery without application code does not wait for the dispatcher.
        let ping = client.request("$SRV.PING.dispatched", b"", 5000).map(|m| m.data());
        let work = client.request("work", b"w", 10_000).map(|m| m.data());
        let stats = client.request(&format!("$SRV.STATS.dispatched.{svc_id}"), b"", 10_000).map(|m| m.data());
        (ping, work, stats)
    });
    let deadline = Instant::now() + WAIT;
    while !asker.is_finished() && Instant::now() < deadline {
        let _ = unsafe { nats_dispatcher_wait(d.raw(), 20) };
        ok(unsafe { nats_dispatcher_dispatch(d.raw(), usize::MAX, null_mut()) });
    }
    let (ping, work, stats) = asker.join().unwrap();
    assert!(ping.is_ok(), "{ping:?}");
    assert_eq!(work.unwrap(), b"w!");
    let stats: Value = serde_json::from_slice(&stats.unwrap()).unwrap();
    assert_eq!(stats["endpoints"][0]["data"], serde_json::json!({"endpoint": "work"}));
    assert_eq!(seen.requests()[0].1, std::thread::current().id(), "the endpoint callback ran here");
    assert_eq!(*stats_threads.lock().unwrap(), vec![std::thread::current().id()], "and the stats-data callback");
    drop(svc);
}

/// A stats-data callback that reads its own service's stats (through `user_data`, the
/// service's address once it exists): it gets the counters, without data, instead of a
/// deadlock.
unsafe extern "C" fn nested_stats(ud: *mut c_void, _e: *const nats_endpoint_statistics) -> *const c_char {
    let svc = *(ud as *const *mut nats_service);
    let mut inner = null_mut();
    let st = nats_service_stats(svc, &mut inner);
    let plain = st == NATS_OK && (*inner).endpoints_count == 1 && (*inner).endpoints.read().data.is_null();
    nats_service_statistics_free(inner);
    if plain {
        c"\"nested ok\"".as_ptr()
    } else {
        c"\"nested failed\"".as_ptr()
    }
}

#[test]
fn stats_data_may_read_its_own_service() {
    let server = Server::start();
    let c = Conn::to(&server.url());
    let slot: &'static mut *mut nats_service = Box::leak(Box::new(null_mut()));
    let (name, version, ep) = (cs("nested"), cs("1.0.0"), cs("e"));
    let cfg = nats_service_config {
        name: name.as_ptr(),
        version: version.as_ptr(),
        description: null(),
        metadata_keys: null(),
        metadata_values: null(),
        metadata_count: 0,
        queue_group: null(),
        stats_data: Some(nested_stats),
        stats_data_user_data: slot as *mut *mut nats_service as *mut c_void,
    };
    ok(unsafe { nats_service_add(c.raw(), &cfg, slot) });
    let svc = Service::from_raw(*slot);
    let seen = seen();
    let epc = endpoint_cfg(&ep, None, None);
    ok(unsafe {
        nats_service_add_endpoint(svc.raw(), null(), &epc, Some(answer), seen as *const Seen as *mut c_void, None)
    });
    let (_, _, endpoints) = stats(&svc);
    assert_eq!(endpoints[0].data.as_deref(), Some("\"nested ok\""));
}

/// Freeing a service does not wait for the server: with the connection down it returns at
/// once (each endpoint's drain round trip would block up to 5 s).
#[test]
fn free_while_disconnected_returns_at_once() {
    let mut server = Server::start();
    let c = Conn::to(&server.url());
    let svc = Config::new("offline", "1.0.0").add(&c).unwrap();
    let seen = seen();
    for name in ["a", "b", "c"] {
        ok(add_endpoint(&svc, null(), name, None, seen));
    }
    c.flush();
    server.kill();
    assert!(c.wait_status(nats_conn_status::NATS_CONN_STATUS_RECONNECTING, WAIT));
    let started = Instant::now();
    drop(svc);
    assert!(started.elapsed() < Duration::from_secs(5), "free took {:?}", started.elapsed());
}
