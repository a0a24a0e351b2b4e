//! Streams in full: every configuration field written and read back, mirrors and sources,
//! deleting and erasing messages, purging by sequence or keep, direct gets (one server and an
//! R3 stream in a 3-node cluster), stored messages' sequence and time, stream info lists and
//! account info — against real nats-servers.

mod common;
use common::js::*;
use common::*;
use nats_ffi::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LONG: Duration = Duration::from_secs(30);

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

fn opt_text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| text(p))
}

fn texts(p: *const *const c_char, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    unsafe { std::slice::from_raw_parts(p, n) }.iter().map(|&s| text(s)).collect()
}

/// A stream info snapshot, freed on drop.
struct Info(*mut nats_stream_info);

impl Info {
    fn get(j: &Js, name: &str) -> Info {
        let mut i = null_mut();
        ok(unsafe { nats_jetstream_stream_info(j.raw(), cs(name).as_ptr(), &mut i) });
        Info(i)
    }
    fn config(&self) -> nats_stream_config {
        let mut c = stream_config();
        ok(unsafe { nats_stream_info_config(self.0, &mut c) });
        c
    }
    fn state(&self) -> nats_stream_state {
        let mut s = nats_stream_state::default();
        ok(unsafe { nats_stream_info_state(self.0, &mut s) });
        s
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        unsafe { nats_stream_info_free(self.0) };
    }
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// Every field of `nats_stream_config` goes to the server and comes back through
/// `nats_stream_info_config`; an update seals the stream.
#[test]
fn every_stream_config_field_round_trips() {
    let (_srv, _c, j) = js_setup();
    let (name, desc) = (cs("FULL"), cs("delivery log, all fields"));
    let subjects = [cs("full.*")];
    let subject_ptrs: Vec<_> = subjects.iter().map(|s| s.as_ptr()).collect();
    let (tr_src, tr_dst) = (cs("full.*"), cs("stored.{{wildcard(1)}}"));
    let transform = nats_subject_transform { source: tr_src.as_ptr(), destination: tr_dst.as_ptr() };
    let (rp_src, rp_dst) = (cs("stored.>"), cs("copy.>"));
    let republish = nats_republish { source: rp_src.as_ptr(), destination: rp_dst.as_ptr(), headers_only: true };
    let keys = [cs("owner"), cs("tier")];
    let values = [cs("mta"), cs("gold")];
    let key_ptrs: Vec<_> = keys.iter().map(|s| s.as_ptr()).collect();
    let value_ptrs: Vec<_> = values.iter().map(|s| s.as_ptr()).collect();
    let mut cfg = stream_config();
    cfg.name = name.as_ptr();
    cfg.subjects = subject_ptrs.as_ptr();
    cfg.subjects_count = 1;
    cfg.retention = nats_retention::NATS_RETENTION_LIMITS as i32;
    cfg.max_msgs = 1000;
    cfg.max_bytes = 1 << 20;
    cfg.max_msgs_per_subject = 5;
    cfg.max_msg_size = 4096;
    cfg.max_age_ms = 3_600_000;
    cfg.discard = nats_discard::NATS_DISCARD_NEW as i32;
    cfg.discard_new_per_subject = true;
    cfg.duplicate_window_ms = 60_000;
    cfg.description = desc.as_ptr();
    cfg.max_consumers = 7;
    cfg.subject_transform = &transform;
    cfg.republish = &republish;
    cfg.allow_direct = true;
    cfg.allow_rollup_hdrs = true;
    cfg.deny_delete = true;
    cfg.compression = nats_compression::NATS_COMPRESSION_S2 as i32;
    cfg.first_seq = 100;
    cfg.metadata_keys = key_ptrs.as_ptr();
    cfg.metadata_values = value_ptrs.as_ptr();
    cfg.metadata_count = 2;
    cfg.consumer_inactive_threshold_ms = 30_000;
    cfg.consumer_max_ack_pending = 50;
    cfg.allow_msg_ttl = true;
    cfg.subject_delete_marker_ttl_ms = 2_000;
    let mut created = null_mut();
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, &mut created) });
    let created = Info(created);
    for info in [created, Info::get(&j, "FULL")] {
        let back = info.config();
        assert_eq!(text(back.name), "FULL");
        assert_eq!(texts(back.subjects, back.subjects_count), ["full.*"]);
        assert_eq!((back.max_msgs, back.max_bytes, back.max_msgs_per_subject), (1000, 1 << 20, 5));
        assert_eq!((back.max_msg_size, back.max_age_ms, back.duplicate_window_ms), (4096, 3_600_000, 60_000));
        assert_eq!(back.discard, nats_discard::NATS_DISCARD_NEW as i32);
        assert!(back.discard_new_per_subject && !back.no_ack && !back.sealed);
        assert_eq!(opt_text(back.description).as_deref(), Some("delivery log, all fields"));
        assert_eq!(back.max_consumers, 7);
        let t = unsafe { &*back.subject_transform };
        assert_eq!((text(t.source), text(t.destination)), ("full.*".into(), "stored.{{wildcard(1)}}".into()));
        let r = unsafe { &*back.republish };
        assert_eq!((text(r.source), text(r.destination), r.headers_only), ("stored.>".into(), "copy.>".into(), true));
        assert!(
            back.allow_direct && !back.mirror_direct && back.allow_rollup_hdrs && back.deny_delete && !back.deny_purge
        );
        assert_eq!(back.compression, nats_compression::NATS_COMPRESSION_S2 as i32);
        assert_eq!(back.first_seq, 100);
        let keys = texts(back.metadata_keys, back.metadata_count);
        let values = texts(back.metadata_values, back.metadata_count);
        let meta: Vec<(String, String)> = keys.into_iter().zip(values).collect();
        // The server adds its own `_nats.*` entries.
        assert!(
            meta.contains(&("owner".into(), "mta".into())) && meta.contains(&("tier".into(), "gold".into())),
            "{meta:?}"
        );
        assert_eq!((back.consumer_inactive_threshold_ms, back.consumer_max_ack_pending), (30_000, 50));
        assert!(back.allow_msg_ttl);
        assert_eq!(back.subject_delete_marker_ttl_ms, 2_000);
        assert!(back.mirror.is_null() && back.sources.is_null() && back.sources_count == 0);
        assert!(unsafe { nats_stream_info_mirror(info.0) }.is_null());
        assert!(unsafe { nats_stream_info_created_ns(info.0) } > now_ns() - 60_000_000_000);
    }
    // A single server leads its streams itself.
    assert!(!text(unsafe { nats_stream_info_cluster_leader(Info::get(&j, "FULL").0) }).is_empty());
    // The transform and first sequence apply to what is stored.
    let (_, seq, _) = publish(&j, "full.a", b"x", None).unwrap();
    assert_eq!(seq, 100);
    let mut m = null_mut();
    ok(unsafe { nats_jetstream_stream_get_msg(j.raw(), name.as_ptr(), 100, &mut m) });
    let m = Msg::from_raw(m);
    assert_eq!(m.subject(), "stored.a");
    // deny_delete holds. deny_purge excludes roll-ups, so it gets a stream of its own.
    assert_ne!(unsafe { nats_jetstream_stream_delete_msg(j.raw(), name.as_ptr(), 100) }, NATS_OK);
    let no_purge_name = cs("NOPURGE");
    let mut no_purge = stream_config();
    (no_purge.name, no_purge.deny_purge) = (no_purge_name.as_ptr(), true);
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &no_purge, null_mut()) });
    assert!(Info::get(&j, "NOPURGE").config().deny_purge);
    assert_ne!(unsafe { nats_jetstream_stream_purge(j.raw(), no_purge_name.as_ptr(), null(), null_mut()) }, NATS_OK);
    // An update from the read-back config changes what it sets.
    let current = Info::get(&j, "FULL"); // the config borrows from it
    let mut updated = current.config();
    let new_desc = cs("updated");
    (updated.description, updated.max_msgs) = (new_desc.as_ptr(), 2000);
    ok(unsafe { nats_jetstream_stream_update(j.raw(), &updated, null_mut()) });
    let info = Info::get(&j, "FULL");
    let back = info.config();
    assert_eq!((text(back.description), back.max_msgs, back.first_seq), ("updated".into(), 2000, 100));
    // Sealing is an update; nothing is stored afterwards.
    let current = Info::get(&j, "FULL");
    let mut sealed = current.config();
    sealed.sealed = true;
    ok(unsafe { nats_jetstream_stream_update(j.raw(), &sealed, null_mut()) });
    assert!(Info::get(&j, "FULL").config().sealed);
    assert!(publish(&j, "full.b", b"y", None).is_err());
    assert_eq!(Info::get(&j, "FULL").state().messages, 1);

    // Bad values are refused before anything is sent.
    let mut bad = stream_config();
    bad.name = cs("BAD").into_raw();
    bad.compression = 7;
    check(unsafe { nats_jetstream_stream_create(j.raw(), &bad, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("compression"), "{}", last_error());
    bad.compression = 0;
    let no_name = nats_stream_source { name: null(), ..zero_source() };
    bad.mirror = &no_name;
    check(unsafe { nats_jetstream_stream_create(j.raw(), &bad, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    assert!(last_error().contains("cfg.mirror.name"), "{}", last_error());
    bad.mirror = null();
    bad.sources_count = 1;
    check(unsafe { nats_jetstream_stream_create(j.raw(), &bad, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    drop(unsafe { std::ffi::CString::from_raw(bad.name.cast_mut()) });
}

fn zero_source() -> nats_stream_source {
    nats_stream_source {
        name: null(),
        opt_start_seq: 0,
        opt_start_time_ns: 0,
        filter_subject: null(),
        subject_transforms: null(),
        subject_transforms_count: 0,
        external_api_prefix: null(),
        external_deliver_prefix: null(),
        domain: null(),
    }
}

/// A mirror copies its origin (and serves its direct gets); a stream with two sources stores
/// what each filter and transform selects; both report how far they have caught up.
#[test]
fn mirror_and_sources_copy_their_origins() {
    let (_srv, _c, j) = js_setup();
    let (orders, orders_subjects) = (cs("ORDERS"), [cs("orders.>")]);
    let orders_ptrs: Vec<_> = orders_subjects.iter().map(|s| s.as_ptr()).collect();
    let mut cfg = stream_config();
    (cfg.name, cfg.subjects, cfg.subjects_count, cfg.allow_direct) = (orders.as_ptr(), orders_ptrs.as_ptr(), 1, true);
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, null_mut()) });
    create_stream(&j, "RETURNS", &["returns.>"], 0);
    for i in 0..10 {
        publish(&j, if i % 2 == 0 { "orders.eu" } else { "orders.us" }, &[i], None).unwrap();
        publish(&j, "returns.x", &[i], None).unwrap();
    }
    let origin = cs("ORDERS");
    let mut mirror = stream_config();
    let mirror_name = cs("ORDERS_COPY");
    let from = nats_stream_source { name: origin.as_ptr(), opt_start_seq: 3, ..zero_source() };
    mirror.name = mirror_name.as_ptr();
    mirror.mirror = &from;
    mirror.mirror_direct = true;
    mirror.allow_direct = true;
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &mirror, null_mut()) });

    let (eu, returns) = (cs("orders.eu"), cs("RETURNS"));
    let (tr_src, tr_dst) = (cs("returns.>"), cs("back.>"));
    let transforms = [nats_subject_transform { source: tr_src.as_ptr(), destination: tr_dst.as_ptr() }];
    let sources = [
        nats_stream_source { name: origin.as_ptr(), filter_subject: eu.as_ptr(), ..zero_source() },
        nats_stream_source {
            name: returns.as_ptr(),
            subject_transforms: transforms.as_ptr(),
            subject_transforms_count: 1,
            ..zero_source()
        },
    ];
    let mut merged = stream_config();
    let merged_name = cs("MERGED");
    merged.name = merged_name.as_ptr();
    merged.sources = sources.as_ptr();
    merged.sources_count = 2;
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &merged, null_mut()) });

    // The mirror starts at sequence 3 of its origin: 8 messages.
    assert!(
        wait_until(LONG, || Info::get(&j, "ORDERS_COPY").state().messages == 8),
        "mirror has {}",
        Info::get(&j, "ORDERS_COPY").state().messages
    );
    let info = Info::get(&j, "ORDERS_COPY");
    let back = info.config();
    assert_eq!(texts(back.subjects, back.subjects_count), Vec::<String>::new());
    assert!(back.mirror_direct);
    let m = unsafe { &*back.mirror };
    assert_eq!((text(m.name), m.opt_start_seq), ("ORDERS".into(), 3));
    assert!(wait_until(LONG, || {
        let i = Info::get(&j, "ORDERS_COPY");
        let mi = unsafe { nats_stream_info_mirror(i.0) };
        !mi.is_null() && unsafe { (*mi).lag } == 0 && text(unsafe { (*mi).name }) == "ORDERS"
    }));
    // 5 on orders.eu, 10 returns stored as back.x.
    assert!(wait_until(LONG, || Info::get(&j, "MERGED").state().messages == 15));
    let info = Info::get(&j, "MERGED");
    let back = info.config();
    assert_eq!(back.sources_count, 2);
    let srcs = unsafe { std::slice::from_raw_parts(back.sources, 2) };
    let by_name = |n: &str| srcs.iter().find(|s| text(s.name) == n).unwrap();
    assert_eq!(opt_text(by_name("ORDERS").filter_subject).as_deref(), Some("orders.eu"));
    let r = by_name("RETURNS");
    assert_eq!(r.subject_transforms_count, 1);
    assert_eq!(text(unsafe { (*r.subject_transforms).destination }), "back.>");
    let (mut p, mut n) = (null(), 0);
    ok(unsafe { nats_stream_info_sources(info.0, &mut p, &mut n) });
    assert_eq!(n, 2);
    let mut names: Vec<String> = unsafe { std::slice::from_raw_parts(p, n) }.iter().map(|s| text(s.name)).collect();
    names.sort();
    assert_eq!(names, ["ORDERS", "RETURNS"]);
    let mut last = null_mut();
    ok(unsafe { nats_jetstream_stream_get_last_msg(j.raw(), merged_name.as_ptr(), cs("back.x").as_ptr(), &mut last) });
    assert_eq!(Msg::from_raw(last).data(), [9]);
}

/// Deleting keeps the data until compaction, erasing overwrites it; both leave a gap the
/// state counts; purging below a sequence or keeping the newest removes just those.
#[test]
fn delete_erase_and_purge_by_sequence_or_keep() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "Q", &["q.*"], 0);
    for i in 0..20u8 {
        publish(&j, if i < 10 { "q.a" } else { "q.b" }, &[i], None).unwrap();
    }
    let q = cs("Q");
    ok(unsafe { nats_jetstream_stream_delete_msg(j.raw(), q.as_ptr(), 3) });
    ok(unsafe { nats_jetstream_stream_erase_msg(j.raw(), q.as_ptr(), 4) });
    let s = Info::get(&j, "Q").state();
    assert_eq!((s.messages, s.num_deleted, s.first_seq, s.last_seq, s.num_subjects), (18, 2, 1, 20, 2));
    assert!(s.first_time_ns > 0 && s.last_time_ns >= s.first_time_ns);
    for seq in [3, 4] {
        let mut m = null_mut();
        check(unsafe { nats_jetstream_stream_get_msg(j.raw(), q.as_ptr(), seq, &mut m) }, NATS_ERR_NOT_FOUND);
        check(unsafe { nats_jetstream_stream_delete_msg(j.raw(), q.as_ptr(), seq) }, NATS_ERR_NOT_FOUND);
    }
    check(unsafe { nats_jetstream_stream_delete_msg(j.raw(), cs("NOPE").as_ptr(), 1) }, NATS_ERR_NOT_FOUND);
    check(unsafe { nats_jetstream_stream_delete_msg(j.raw(), cs("a.b").as_ptr(), 1) }, NATS_ERR_INVALID_ARGUMENT);

    // Below sequence 6: 1, 2 and 5 go.
    let (mut purged, below6) = (0, nats_purge_options { subject: null(), sequence: 6, keep: 0 });
    ok(unsafe { nats_jetstream_stream_purge_ex(j.raw(), q.as_ptr(), &below6, &mut purged) });
    assert_eq!(purged, 3);
    assert_eq!(Info::get(&j, "Q").state().first_seq, 6);
    // Keep the 2 newest of q.b: 8 of its 10 go; q.a keeps its 5.
    let qb = cs("q.b");
    let keep2 = nats_purge_options { subject: qb.as_ptr(), sequence: 0, keep: 2 };
    ok(unsafe { nats_jetstream_stream_purge_ex(j.raw(), q.as_ptr(), &keep2, &mut purged) });
    assert_eq!(purged, 8);
    assert_eq!(Info::get(&j, "Q").state().messages, 7);
    let both = nats_purge_options { subject: null(), sequence: 3, keep: 2 };
    check(unsafe { nats_jetstream_stream_purge_ex(j.raw(), q.as_ptr(), &both, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_jetstream_stream_purge_ex(j.raw(), q.as_ptr(), null(), &mut purged) });
    assert_eq!((purged, Info::get(&j, "Q").state().messages), (7, 0));
}

fn direct(j: &Js, stream: &str, o: nats_direct_get_options) -> Result<Msg, nats_status> {
    let mut m = null_mut();
    match unsafe { nats_jetstream_stream_direct_get(j.raw(), cs(stream).as_ptr(), &o, &mut m) } {
        NATS_OK => Ok(Msg::from_raw(m)),
        st => {
            assert!(m.is_null());
            Err(st)
        }
    }
}

fn by_seq(seq: u64) -> nats_direct_get_options {
    nats_direct_get_options { sequence: seq, last_by_subject: null(), next_by_subject: null() }
}

/// Direct gets by sequence, last on a subject and next on a subject, through the direct API
/// (seen on `$JS.API.DIRECT.GET.>`, not the leader's `STREAM.MSG.GET`); stored messages carry
/// their sequence and time; a stream without `allow_direct` is named as the reason.
#[test]
fn direct_get_by_sequence_last_and_next() {
    let (srv, c, j) = js_setup();
    let watcher = Conn::to(&srv.url());
    let direct_requests = common::collector::Sub::new(&watcher, "$JS.API.DIRECT.GET.>", "");
    let leader_gets = common::collector::Sub::new(&watcher, "$JS.API.STREAM.MSG.GET.>", "");
    watcher.flush();
    let mut cfg = stream_config();
    let (name, subjects) = (cs("D"), [cs("d.>")]);
    let ptrs: Vec<_> = subjects.iter().map(|s| s.as_ptr()).collect();
    cfg.name = name.as_ptr();
    cfg.subjects = ptrs.as_ptr();
    cfg.subjects_count = 1;
    cfg.allow_direct = true;
    ok(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, null_mut()) });
    let before = now_ns();
    for i in 0..10u8 {
        publish(&j, if i % 3 == 0 { "d.x" } else { "d.y" }, &[i], None).unwrap();
    }
    let m = direct(&j, "D", by_seq(5)).unwrap();
    assert_eq!((m.subject(), m.data()), ("d.y".to_string(), vec![4]));
    assert_eq!(unsafe { nats_msg_sequence(m.raw()) }, 5);
    let t = unsafe { nats_msg_timestamp(m.raw()) };
    assert!(t >= before - 1_000_000_000 && t <= now_ns() + 1_000_000_000, "{t} vs {before}");
    let (dx, dall) = (cs("d.x"), cs("d.*"));
    let last = direct(&j, "D", nats_direct_get_options { last_by_subject: dx.as_ptr(), ..by_seq(0) }).unwrap();
    assert_eq!((last.data(), unsafe { nats_msg_sequence(last.raw()) }), (vec![9], 10));
    let next = direct(&j, "D", nats_direct_get_options { next_by_subject: dx.as_ptr(), ..by_seq(2) }).unwrap();
    assert_eq!((next.data(), unsafe { nats_msg_sequence(next.raw()) }), (vec![3], 4));
    let first = direct(&j, "D", nats_direct_get_options { next_by_subject: dall.as_ptr(), ..by_seq(0) }).unwrap();
    assert_eq!(unsafe { nats_msg_sequence(first.raw()) }, 1);
    check(direct(&j, "D", by_seq(99)).err().unwrap(), NATS_ERR_NOT_FOUND);
    assert!(direct_requests.wait_count(5, LONG));
    assert_eq!(leader_gets.count(), 0, "direct gets went to the leader's API");

    // The leader's get carries sequence and time too; other messages carry none.
    let mut g = null_mut();
    ok(unsafe { nats_jetstream_stream_get_msg(j.raw(), name.as_ptr(), 7, &mut g) });
    let g = Msg::from_raw(g);
    assert_eq!(unsafe { nats_msg_sequence(g.raw()) }, 7);
    assert!(unsafe { nats_msg_timestamp(g.raw()) } >= before - 1_000_000_000);
    let reply = c.request("$JS.API.INFO", b"", 5000).unwrap();
    assert_eq!((unsafe { nats_msg_sequence(reply.raw()) }, unsafe { nats_msg_timestamp(reply.raw()) }), (0, 0));
    assert_eq!((unsafe { nats_msg_sequence(null()) }, unsafe { nats_msg_timestamp(null()) }), (0, 0));

    // Choices: exactly one.
    check(direct(&j, "D", by_seq(0)).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    let both = nats_direct_get_options { sequence: 0, last_by_subject: dx.as_ptr(), next_by_subject: dx.as_ptr() };
    check(direct(&j, "D", both).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    let seq_and_last = nats_direct_get_options { last_by_subject: dx.as_ptr(), ..by_seq(3) };
    check(direct(&j, "D", seq_and_last).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    let wild_last = nats_direct_get_options { last_by_subject: dall.as_ptr(), ..by_seq(0) };
    check(direct(&j, "D", wild_last).err().unwrap(), NATS_ERR_INVALID_SUBJECT);
    let mut m = null_mut();
    check(unsafe { nats_jetstream_stream_direct_get(j.raw(), name.as_ptr(), null(), &mut m) }, NATS_ERR_NULL_ARGUMENT);
    // Without allow_direct nothing answers (the server lets the request time out); the error
    // says why.
    create_stream(&j, "PLAIN", &["plain.>"], 0);
    publish(&j, "plain.a", b"p", None).unwrap();
    check(direct(&j, "PLAIN", by_seq(1)).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("allow_direct"), "{}", last_error());
}

/// An R3 stream placed in a 3-node cluster: placement and replicas read back, a leader is
/// named, and direct gets are answered through every node (by any replica).
#[test]
fn direct_get_on_an_r3_stream_in_a_cluster() {
    let routes = [free_port(), free_port(), free_port()];
    let servers: Vec<Server> = (0..3)
        .map(|i| {
            let others: Vec<String> =
                (0..3).filter(|k| *k != i).map(|k| format!("nats-route://127.0.0.1:{}", routes[k])).collect();
            Server::start_conf(&format!(
                "server_name: n{i}\nserver_tags: [\"mail\"]\njetstream {{ store_dir: \"{{dir}}/js\" }}\n\
                 cluster {{ name: mailc, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                routes[i],
                others.join(", ")
            ))
        })
        .collect();
    let conns: Vec<Conn> = servers.iter().map(|s| Conn::to(&s.url())).collect();
    let ctxs: Vec<Js> = conns.iter().map(js).collect();
    let (name, subjects, cluster, tag) = (cs("R3"), [cs("r3.>")], cs("mailc"), cs("mail"));
    let ptrs: Vec<_> = subjects.iter().map(|s| s.as_ptr()).collect();
    let tags = [tag.as_ptr()];
    let mut cfg = stream_config();
    cfg.name = name.as_ptr();
    cfg.subjects = ptrs.as_ptr();
    cfg.subjects_count = 1;
    cfg.replicas = 3;
    cfg.allow_direct = true;
    cfg.placement_cluster = cluster.as_ptr();
    cfg.placement_tags = tags.as_ptr();
    cfg.placement_tags_count = 1;
    // The cluster needs a moment to elect its meta leader.
    assert!(
        wait_until(LONG, || unsafe { nats_jetstream_stream_create(ctxs[0].raw(), &cfg, null_mut()) } == NATS_OK),
        "R3 stream: {}",
        last_error()
    );
    for i in 0..20u8 {
        assert!(wait_until(LONG, || publish(&ctxs[0], "r3.m", &[i], None).is_ok()), "publish {i}: {}", last_error());
    }
    let info = Info::get(&ctxs[1], "R3");
    let back = info.config();
    assert_eq!(back.replicas, 3);
    assert_eq!(opt_text(back.placement_cluster).as_deref(), Some("mailc"));
    assert_eq!(texts(back.placement_tags, back.placement_tags_count), ["mail"]);
    assert!(text(unsafe { nats_stream_info_cluster_leader(info.0) }).starts_with('n'));
    for j in &ctxs {
        // A replica may lag right after the writes: wait until it answers with the last one.
        assert!(wait_until(LONG, || direct(j, "R3", by_seq(20)).is_ok_and(|m| m.data() == [19])), "{}", last_error());
        let m = direct(j, "R3", by_seq(7)).unwrap();
        assert_eq!((m.data(), unsafe { nats_msg_sequence(m.raw()) }), (vec![6], 7));
    }
}

/// All stream infos in one call, and the account's usage and limits (from a server config
/// that sets them).
#[test]
fn stream_infos_and_account_info() {
    let srv = Server::start_conf(
        "jetstream { store_dir: \"{dir}/js\" }\n\
         accounts { MAIL: { jetstream: { max_mem: 64M, max_file: 128M, max_streams: 5, max_consumers: 20 }, \
         users: [ { user: mta, password: pw } ] } }\n",
    );
    let url = format!("nats://mta:pw@127.0.0.1:{}", srv.port);
    let c = Conn::to(&url);
    let j = js(&c);
    for (n, s) in [("A", "a.>"), ("B", "b.>"), ("C", "c.>")] {
        create_stream(&j, n, &[s], 0);
    }
    publish(&j, "b.1", b"hello", None).unwrap();
    let (mut list, mut n) = (null_mut(), 0);
    ok(unsafe { nats_jetstream_stream_infos(j.raw(), &mut list, &mut n) });
    assert_eq!(n, 3);
    let infos = unsafe { std::slice::from_raw_parts(list, n) };
    let mut seen: Vec<(String, u64)> = infos
        .iter()
        .map(|&i| {
            let mut st = nats_stream_state::default();
            ok(unsafe { nats_stream_info_state(i, &mut st) });
            (text(unsafe { nats_stream_info_name(i) }), st.messages)
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [("A".into(), 0), ("B".into(), 1), ("C".into(), 0)]);
    unsafe { nats_stream_infos_free(list, n) };

    let mut a = null_mut();
    ok(unsafe { nats_jetstream_account_info(j.raw(), &mut a) });
    let info = unsafe { &*a };
    assert_eq!((info.streams, info.consumers), (3, 0));
    assert!(info.memory > 0, "3 memory streams with a message");
    assert_eq!(info.limits.max_streams, 5);
    assert_eq!(info.limits.max_consumers, 20);
    assert_eq!(info.limits.max_memory, 64_000_000);
    assert_eq!(info.limits.max_storage, 128_000_000);
    assert!(info.api_requests >= 3, "{}", info.api_requests);
    assert_eq!(text(info.domain), "");
    let tiers = if info.tiers_count == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(info.tiers, info.tiers_count) }
    };
    for t in tiers {
        assert!(!text(t.name).is_empty());
    }
    unsafe { nats_account_info_free(a) };
    unsafe { nats_account_info_free(null_mut()) };
    check(unsafe { nats_jetstream_account_info(j.raw(), null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    // Without JetStream for the account: nothing answers.
    let plain = Server::start();
    let pc = Conn::to(&plain.url());
    let pj = js(&pc);
    let mut a = null_mut();
    check(unsafe { nats_jetstream_account_info(pj.raw(), &mut a) }, NATS_ERR_NO_RESPONDERS);
    assert!(a.is_null());
}

/// Per-replica (tiered) JetStream limits in an account JWT come back as the account info's
/// tiers, with their usage.
#[test]
fn account_info_reports_tiers() {
    use common::auth::{creds_file, jwt};
    let op = nkeys::KeyPair::new_operator();
    let (acc, user) = (nkeys::KeyPair::new_account(), nkeys::KeyPair::new_user());
    let op_jwt = jwt(&op, &op.public_key(), "op", serde_json::json!({"type": "operator", "version": 2}));
    let r1 = serde_json::json!({"mem_storage": 64_000_000, "disk_storage": 128_000_000, "streams": 5, "consumer": 20});
    let limits = serde_json::json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1, "tiered_limits": {"R1": r1}});
    let acc_jwt =
        jwt(&op, &acc.public_key(), "mail", serde_json::json!({"limits": limits, "type": "account", "version": 2}));
    let user_jwt = jwt(
        &acc,
        &user.public_key(),
        "mta",
        serde_json::json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2}),
    );
    // JetStream in operator mode needs a system account.
    let sys = nkeys::KeyPair::new_account();
    let sys_jwt = jwt(&op, &sys.public_key(), "sys", serde_json::json!({"type": "account", "version": 2}));
    let srv = Server::start_conf(&format!(
        "operator: \"{op_jwt}\"\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{acc_jwt}\"\n  {}: \"{sys_jwt}\"\n}}\n\
         jetstream {{ store_dir: \"{{dir}}/js\" }}\n",
        sys.public_key(),
        acc.public_key(),
        sys.public_key()
    ));
    let creds = creds_file(srv.dir.path(), &user_jwt, &user.seed().unwrap());
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_credentials_file(o.raw(), cs(&creds).as_ptr()) });
    let c = o.connect().unwrap();
    let j = js(&c);
    create_stream(&j, "T", &["t.>"], 0);
    let mut a = null_mut();
    ok(unsafe { nats_jetstream_account_info(j.raw(), &mut a) });
    let info = unsafe { &*a };
    assert_eq!(info.tiers_count, 1, "one tier");
    let tier = unsafe { &*info.tiers };
    assert_eq!(text(tier.name), "R1");
    assert_eq!((tier.streams, tier.limits.max_streams, tier.limits.max_consumers), (1, 5, 20));
    assert_eq!((tier.limits.max_memory, tier.limits.max_storage), (64_000_000, 128_000_000));
    unsafe { nats_account_info_free(a) };
}
