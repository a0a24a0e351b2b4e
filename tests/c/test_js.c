/* test_js <url>: JetStream and key-value exercised from C against a real nats-server with
 * JetStream enabled: streams, publish (sync, async, dedup, expectations, headers), pull
 * consumers (fetch, next, ack, nak, term, in progress, ack wait redelivery, metadata), push,
 * ordered and consume-with-callback delivery, key-value (revision checks, delete, purge, keys,
 * history, watch). Prints "N passed, M failed"; exits 0 only if none failed. */
#include <nats_ffi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* ------------------------------------------------------------------------------------------ */
/* Streams and publishing */

static void test_streams_and_publish(nats_connection *c, nats_jetstream *js) {
    const char *subjects[] = {"orders.>"};
    nats_stream_config cfg;
    EXPECT_OK(nats_stream_config_init(&cfg));
    cfg.name = "ORDERS";
    cfg.subjects = subjects;
    cfg.subjects_count = 1;
    cfg.storage = NATS_STORAGE_MEMORY;
    cfg.max_msgs = 100000;
    nats_stream_info *info = NULL;
    EXPECT_OK(nats_jetstream_stream_create(js, &cfg, &info));
    EXPECT(str_is(nats_stream_info_name(info), "ORDERS"));
    nats_stream_info_free(info);

    nats_js_publish_options o;
    memset(&o, 0, sizeof o);
    o.msg_id = "order-1";
    nats_pub_ack *ack = NULL;
    EXPECT_OK(nats_jetstream_publish(js, "orders.new", "one", 3, &o, &ack));
    EXPECT(str_is(nats_pub_ack_stream(ack), "ORDERS") && nats_pub_ack_sequence(ack) == 1 && !nats_pub_ack_duplicate(ack));
    nats_pub_ack_free(ack);
    ack = NULL;
    EXPECT_OK(nats_jetstream_publish(js, "orders.new", "one again", 9, &o, &ack));
    EXPECT(nats_pub_ack_duplicate(ack) && nats_pub_ack_sequence(ack) == 1);
    nats_pub_ack_free(ack);
    memset(&o, 0, sizeof o);
    o.has_expected_last_sequence = true;
    o.expected_last_sequence = 7;
    ack = NULL;
    EXPECT_STATUS(nats_jetstream_publish(js, "orders.new", "x", 1, &o, &ack), NATS_ERR_EXPECTATION_FAILED);
    EXPECT(ack == NULL);
    EXPECT_STATUS(nats_jetstream_publish(js, "nostream.here", "x", 1, NULL, NULL), NATS_ERR_NO_RESPONDERS);

    /* A message with headers, read back from the stream. */
    nats_msg *m = NULL;
    EXPECT_OK(nats_msg_new("orders.hdr", NULL, "h", 1, &m));
    EXPECT_OK(nats_msg_header_set(m, "X-Mail-Id", "abc"));
    EXPECT_OK(nats_jetstream_publish_msg(js, m, NULL, NULL));
    nats_msg_free(m);
    nats_msg *stored = NULL;
    EXPECT_OK(nats_jetstream_stream_get_last_msg(js, "ORDERS", "orders.hdr", &stored));
    const char *v = NULL;
    EXPECT_OK(nats_msg_header_get(stored, "X-Mail-Id", &v));
    EXPECT(str_is(v, "abc"));
    nats_msg_free(stored);
    stored = NULL;
    EXPECT_OK(nats_jetstream_stream_get_msg(js, "ORDERS", 1, &stored));
    EXPECT(data_is(stored, "one"));
    nats_msg_free(stored);

    EXPECT_OK(nats_jetstream_stream_purge(js, "ORDERS", NULL, NULL));
    (void)c;
}

static atomic_long async_ok, async_dup, async_err;

static void on_ack(void *ud, nats_status st, const nats_pub_ack *ack) {
    (void)ud;
    if (st != NATS_OK) atomic_fetch_add(&async_err, 1);
    else if (nats_pub_ack_duplicate(ack)) atomic_fetch_add(&async_dup, 1);
    else atomic_fetch_add(&async_ok, 1);
}

/* A stream with more of its configuration: read back, direct gets, deleting one message,
 * purging all but the newest, and the account's usage. */
static void test_stream_details(nats_jetstream *js) {
    const char *subjects[] = {"bounce.*"};
    const char *meta_keys[] = {"owner"}, *meta_values[] = {"mta"};
    nats_stream_config cfg;
    EXPECT_OK(nats_stream_config_init(&cfg));
    cfg.name = "BOUNCES";
    cfg.subjects = subjects;
    cfg.subjects_count = 1;
    cfg.storage = NATS_STORAGE_MEMORY;
    cfg.description = "bounces by domain";
    cfg.allow_direct = true;
    cfg.max_consumers = 4;
    cfg.metadata_keys = meta_keys;
    cfg.metadata_values = meta_values;
    cfg.metadata_count = 1;
    nats_stream_info *info = NULL;
    EXPECT_OK(nats_jetstream_stream_create(js, &cfg, &info));
    nats_stream_config back;
    EXPECT_OK(nats_stream_info_config(info, &back));
    EXPECT(str_is(back.description, "bounces by domain") && back.allow_direct && back.max_consumers == 4);
    bool owner_found = false;
    for (size_t i = 0; i < back.metadata_count; i++)
        owner_found |= str_is(back.metadata_keys[i], "owner") && str_is(back.metadata_values[i], "mta");
    EXPECT(owner_found);
    nats_stream_info_free(info);

    for (int i = 0; i < 6; i++)
        EXPECT_OK(nats_jetstream_publish(js, i % 2 ? "bounce.b" : "bounce.a", "x", 1, NULL, NULL));
    nats_direct_get_options dg;
    memset(&dg, 0, sizeof dg);
    dg.last_by_subject = "bounce.a";
    nats_msg *m = NULL;
    EXPECT_OK(nats_jetstream_stream_direct_get(js, "BOUNCES", &dg, &m));
    EXPECT(nats_msg_sequence(m) == 5 && nats_msg_timestamp(m) > 0);
    nats_msg_free(m);
    EXPECT_OK(nats_jetstream_stream_delete_msg(js, "BOUNCES", 5));
    m = NULL;
    EXPECT_OK(nats_jetstream_stream_direct_get(js, "BOUNCES", &dg, &m)); /* now the one before */
    EXPECT(nats_msg_sequence(m) == 3);
    nats_msg_free(m);
    memset(&dg, 0, sizeof dg);
    dg.sequence = 5;
    m = NULL;
    EXPECT_STATUS(nats_jetstream_stream_direct_get(js, "BOUNCES", &dg, &m), NATS_ERR_NOT_FOUND);
    EXPECT(m == NULL);
    nats_purge_options po;
    memset(&po, 0, sizeof po);
    po.keep = 1;
    uint64_t purged = 0;
    EXPECT_OK(nats_jetstream_stream_purge_ex(js, "BOUNCES", &po, &purged));
    EXPECT(purged == 4);
    info = NULL;
    EXPECT_OK(nats_jetstream_stream_info(js, "BOUNCES", &info));
    nats_stream_state st;
    EXPECT_OK(nats_stream_info_state(info, &st));
    EXPECT(st.messages == 1 && st.last_seq == 6);
    nats_stream_info_free(info);

    nats_account_info *ai = NULL;
    EXPECT_OK(nats_jetstream_account_info(js, &ai));
    EXPECT(ai != NULL && ai->streams >= 2 && ai->limits.max_streams == -1);
    nats_account_info_free(ai);
    EXPECT_OK(nats_jetstream_stream_delete(js, "BOUNCES"));
}

static void test_async_publish(nats_jetstream *js) {
    char id[32];
    for (int i = 0; i < 5000; i++) {
        nats_js_publish_options o;
        memset(&o, 0, sizeof o);
        snprintf(id, sizeof id, "a-%d", i % 4000); /* the last 1000 repeat ids: duplicates */
        o.msg_id = id;
        EXPECT_OK(nats_jetstream_publish_async(js, "orders.async", "payload", 7, &o, on_ack, NULL));
    }
    EXPECT_OK(nats_jetstream_publish_async_complete(js, LIMIT_MS));
    EXPECT(nats_jetstream_publish_async_pending(js) == 0);
    EXPECT(atomic_load(&async_ok) == 4000 && atomic_load(&async_dup) == 1000 && atomic_load(&async_err) == 0);
    nats_stream_info *info = NULL;
    EXPECT_OK(nats_jetstream_stream_info(js, "ORDERS", &info));
    EXPECT(nats_stream_info_messages(info) == 4000);
    nats_stream_info_free(info);
}

/* ------------------------------------------------------------------------------------------ */
/* Consumers */

static atomic_long subject_seen;

static void on_subject_msg(void *ud, nats_subscription *sub, const nats_msg *m) {
    (void)ud;
    (void)sub;
    (void)m; /* not acknowledged here: the library does when this returns */
    atomic_fetch_add(&subject_seen, 1);
}

/* Subscribing by subject makes the consumer and acknowledges after each callback; a pull
 * subscription by subject, fetched by bytes with heartbeats; pause and resume. */
static void test_subject_subscriptions(nats_jetstream *js) {
    const char *subjects[] = {"dsn.*"};
    nats_stream_config scfg;
    EXPECT_OK(nats_stream_config_init(&scfg));
    scfg.name = "DSN";
    scfg.subjects = subjects;
    scfg.subjects_count = 1;
    scfg.storage = NATS_STORAGE_MEMORY;
    EXPECT_OK(nats_jetstream_stream_create(js, &scfg, NULL));
    for (int i = 0; i < 10; i++)
        EXPECT_OK(nats_jetstream_publish(js, i < 5 ? "dsn.failed" : "dsn.delayed", "0123456789", 10, NULL, NULL));
    nats_js_subscribe_options so;
    memset(&so, 0, sizeof so);
    so.durable = "dsn-failed";
    nats_subscription *sub = NULL;
    EXPECT_OK(nats_jetstream_subscribe_subject(js, "dsn.failed", &so, on_subject_msg, NULL, NULL, &sub));
    WAIT_FOR(atomic_load(&subject_seen) == 5, LIMIT_MS);
    EXPECT(atomic_load(&subject_seen) == 5);
    long ack_pending = -1;
    for (int tries = 0; tries < 200 && ack_pending != 0; tries++) {
        nats_consumer_info *ci = NULL;
        if (nats_subscription_consumer_info(sub, &ci) == NATS_OK) {
            ack_pending = (long)nats_consumer_info_num_ack_pending(ci);
            nats_consumer_info_free(ci);
        }
        if (ack_pending != 0) sleep_ms(50);
    }
    EXPECT(ack_pending == 0);
    nats_subscription_free(sub);

    memset(&so, 0, sizeof so);
    so.durable = "dsn-delayed";
    nats_pull_consumer *pc = NULL;
    EXPECT_OK(nats_jetstream_pull_subscribe(js, "dsn.delayed", &so, &pc));
    EXPECT_OK(nats_jetstream_consumer_pause(js, "DSN", "dsn-delayed", (int64_t)time(NULL) * 1000000000LL + 60000000000LL, NULL));
    nats_fetch_options fo;
    memset(&fo, 0, sizeof fo);
    fo.batch = 5;
    fo.timeout_ms = 300;
    nats_msg **msgs = NULL;
    size_t n = 0;
    EXPECT_STATUS(nats_pull_consumer_fetch_ex(pc, &fo, &msgs, &n), NATS_ERR_TIMEOUT);
    EXPECT_OK(nats_jetstream_consumer_resume(js, "DSN", "dsn-delayed"));
    fo.max_bytes = 1; /* smaller than any message: nothing fits */
    fo.timeout_ms = 2000;
    fo.heartbeat_ms = 500;
    nats_status st = nats_pull_consumer_fetch_ex(pc, &fo, &msgs, &n);
    EXPECT(st != NATS_OK);
    fo.max_bytes = 0;
    EXPECT_OK(nats_pull_consumer_fetch_ex(pc, &fo, &msgs, &n));
    EXPECT(n == 5);
    for (size_t i = 0; i < n; i++) EXPECT_OK(nats_msg_ack(msgs[i]));
    nats_msgs_free(msgs, n);
    nats_pull_consumer_free(pc);
    EXPECT_OK(nats_jetstream_stream_delete(js, "DSN"));
}

static void test_pull(nats_jetstream *js) {
    nats_consumer_config cfg;
    EXPECT_OK(nats_consumer_config_init(&cfg));
    cfg.durable_name = "c-pull";
    cfg.filter_subject = "orders.async";
    cfg.ack_wait_ms = 30000; /* the bulk is acked well within this, even on a loaded machine */
    nats_consumer_info *ci = NULL;
    EXPECT_OK(nats_jetstream_consumer_create(js, "ORDERS", &cfg, &ci));
    EXPECT(str_is(nats_consumer_info_name(ci), "c-pull") && nats_consumer_info_num_pending(ci) == 4000);
    nats_consumer_info_free(ci);
    nats_pull_consumer *pc = NULL;
    EXPECT_OK(nats_jetstream_pull_consumer(js, "ORDERS", "c-pull", &pc));
    long total = 0, bad_meta = 0;
    while (total < 3990) {
        nats_msg **msgs = NULL;
        size_t n = 0;
        size_t want = 3990 - (size_t)total < 500 ? 3990 - (size_t)total : 500;
        nats_status st = nats_pull_consumer_fetch(pc, want, 2000, &msgs, &n);
        EXPECT_OK(st);
        if (st != NATS_OK) break;
        for (size_t i = 0; i < n; i++) {
            nats_js_msg_metadata md;
            if (nats_msg_metadata(msgs[i], &md) != NATS_OK || md.num_delivered != 1 || !str_is(md.stream, "ORDERS"))
                bad_meta++;
            if (nats_msg_ack(msgs[i]) != NATS_OK) bad_meta++;
        }
        total += (long)n;
        nats_msgs_free(msgs, n);
    }
    EXPECT(total == 3990 && bad_meta == 0);
    /* A short ack wait for the redelivery checks below (the server applies an updated ack
     * wait to later deliveries). */
    cfg.ack_wait_ms = 3000;
    ci = NULL;
    EXPECT_OK(nats_jetstream_consumer_update(js, "ORDERS", &cfg, &ci));
    nats_consumer_info_free(ci);
    /* The last 10: nak one (redelivered at once), leave one unacked (redelivered after the
     * ack wait), then term the nak'ed one on its second delivery. */
    nats_msg *m = NULL;
    nats_js_msg_metadata md;
    EXPECT_OK(nats_pull_consumer_next(pc, 2000, &m));
    EXPECT_OK(nats_msg_metadata(m, &md));
    uint64_t nak_seq = md.stream_seq;
    EXPECT_OK(nats_msg_nak(m));
    EXPECT_STATUS(nats_msg_ack(m), NATS_ERR_INVALID_ARGUMENT);
    nats_msg_free(m);
    uint64_t unacked = 0; /* the first other message: left without ack */
    long nak_again = 0, unacked_again = 0, rest = 0, wrong_count = 0;
    long long dl = now_ms() + LIMIT_MS;
    while ((nak_again < 1 || unacked_again < 1 || rest < 8) && now_ms() < dl) {
        m = NULL;
        if (nats_pull_consumer_next(pc, 1000, &m) != NATS_OK) continue;
        EXPECT_OK(nats_msg_metadata(m, &md));
        if (md.stream_seq == nak_seq) {
            nak_again++;
            if (md.num_delivered != 2) wrong_count++;
            EXPECT_OK(nats_msg_in_progress(m));
            EXPECT_OK(nats_msg_term(m));
        } else if (unacked == 0) {
            unacked = md.stream_seq;
            if (md.num_delivered != 1) wrong_count++;
        } else if (md.stream_seq == unacked) {
            unacked_again++;
            if (md.num_delivered != 2) wrong_count++;
            EXPECT_OK(nats_msg_ack_sync(m, 5000));
        } else {
            rest++;
            if (md.num_delivered != 1) wrong_count++;
            EXPECT_OK(nats_msg_ack_sync(m, 5000));
        }
        nats_msg_free(m);
    }
    EXPECT(nak_again == 1 && unacked_again == 1 && rest == 8 && wrong_count == 0);
    if (!(nak_again == 1 && unacked_again == 1 && rest == 8 && wrong_count == 0))
        fprintf(stderr, "nak_again %ld unacked_again %ld rest %ld wrong_count %ld\n", nak_again, unacked_again, rest, wrong_count);
    m = NULL;
    EXPECT_STATUS(nats_pull_consumer_next(pc, 300, &m), NATS_ERR_TIMEOUT);
    EXPECT(m == NULL);
    ci = NULL;
    EXPECT_OK(nats_pull_consumer_info(pc, &ci));
    EXPECT(nats_consumer_info_num_ack_pending(ci) == 0 && nats_consumer_info_num_pending(ci) == 0);
    nats_consumer_info_free(ci);
    nats_pull_consumer_free(pc);

    char **names = NULL;
    size_t count = 0;
    EXPECT_OK(nats_jetstream_consumer_names(js, "ORDERS", &names, &count));
    EXPECT(count == 1 && str_is(names[0], "c-pull"));
    nats_strings_free(names, count);
    EXPECT_OK(nats_jetstream_consumer_delete(js, "ORDERS", "c-pull"));
    ci = NULL;
    EXPECT_STATUS(nats_jetstream_consumer_info(js, "ORDERS", "c-pull", &ci), NATS_ERR_NOT_FOUND);
}

typedef struct {
    atomic_long count;
    atomic_long last_seq;
    atomic_long out_of_order;
    atomic_int freed;
    bool ack;
} seen;

static void on_js_msg(void *ud, nats_subscription *sub, const nats_msg *m) {
    (void)sub;
    seen *s = ud;
    nats_js_msg_metadata md;
    if (nats_msg_metadata(m, &md) == NATS_OK) {
        if ((long)md.stream_seq <= atomic_load(&s->last_seq)) atomic_fetch_add(&s->out_of_order, 1);
        atomic_store(&s->last_seq, (long)md.stream_seq);
    }
    if (s->ack) nats_msg_ack(m);
    atomic_fetch_add(&s->count, 1);
}

static void on_free(void *ud) {
    atomic_fetch_add(&((seen *)ud)->freed, 1);
}

static void test_push_ordered_consume(nats_connection *c, nats_jetstream *js) {
    /* Push consumer with callback delivery. */
    nats_consumer_config cfg;
    EXPECT_OK(nats_consumer_config_init(&cfg));
    cfg.durable_name = "c-push";
    cfg.deliver_subject = "deliver.orders";
    cfg.filter_subject = "orders.async";
    static seen push = {0, 0, 0, 0, true};
    EXPECT_OK(nats_jetstream_consumer_create(js, "ORDERS", &cfg, NULL));
    nats_subscription *sub = NULL;
    EXPECT_OK(nats_jetstream_subscribe(js, "ORDERS", "c-push", on_js_msg, &push, on_free, &sub));
    WAIT_FOR(atomic_load(&push.count) == 4000, LIMIT_MS);
    EXPECT(atomic_load(&push.count) == 4000 && atomic_load(&push.out_of_order) == 0);
    nats_subscription_free(sub);
    WAIT_FOR(atomic_load(&push.freed) == 1, LIMIT_MS);
    EXPECT(atomic_load(&push.freed) == 1);

    /* Ordered consumer: every message, in order, no acks. */
    static seen ord = {0, 0, 0, 0, false};
    sub = NULL;
    EXPECT_OK(nats_jetstream_subscribe_ordered(js, "ORDERS", NULL, on_js_msg, &ord, on_free, &sub));
    WAIT_FOR(atomic_load(&ord.count) == 4000, LIMIT_MS);
    EXPECT(atomic_load(&ord.count) == 4000 && atomic_load(&ord.out_of_order) == 0);
    EXPECT_OK(nats_subscription_unsubscribe(sub));
    nats_subscription_free(sub);

    /* Pull consumer consumed with a callback. */
    EXPECT_OK(nats_consumer_config_init(&cfg));
    cfg.durable_name = "c-consume";
    EXPECT_OK(nats_jetstream_consumer_create(js, "ORDERS", &cfg, NULL));
    nats_pull_consumer *pc = NULL;
    EXPECT_OK(nats_jetstream_pull_consumer(js, "ORDERS", "c-consume", &pc));
    static seen cons = {0, 0, 0, 0, true};
    sub = NULL;
    EXPECT_OK(nats_pull_consumer_consume(pc, on_js_msg, &cons, on_free, &sub));
    WAIT_FOR(atomic_load(&cons.count) == 4000, LIMIT_MS);
    if (atomic_load(&cons.count) != 4000 || atomic_load(&cons.out_of_order) != 0)
    {
        nats_consumer_info *ci = NULL;
        fprintf(stderr, "consume: %ld messages, %ld out of order\n", (long)atomic_load(&cons.count),
                (long)atomic_load(&cons.out_of_order));
        if (nats_pull_consumer_info(pc, &ci) == NATS_OK) {
            fprintf(stderr, "consume: ack pending %llu, pending %llu, waiting %llu, redelivered %llu\n",
                    (unsigned long long)nats_consumer_info_num_ack_pending(ci),
                    (unsigned long long)nats_consumer_info_num_pending(ci),
                    (unsigned long long)nats_consumer_info_num_waiting(ci),
                    (unsigned long long)nats_consumer_info_num_redelivered(ci));
            nats_consumer_info_free(ci);
        }
    }
    EXPECT(atomic_load(&cons.count) == 4000 && atomic_load(&cons.out_of_order) == 0);
    EXPECT_OK(nats_subscription_drain(sub, LIMIT_MS));
    nats_subscription_free(sub);
    nats_pull_consumer_free(pc);
    (void)c;
}

/* ------------------------------------------------------------------------------------------ */
/* Key-value */

static atomic_long watched, watched_bad;
/* The first entry that was not the one expected: which one was expected, and what came. */
static long first_bad_at = -1;
static char first_bad[64];

static void on_entry(void *ud, const nats_kv_entry *e) {
    (void)ud;
    static long expect = 0;
    char want[32];
    int n = snprintf(want, sizeof want, "v%ld", expect);
    if (nats_kv_entry_value_len(e) != (size_t)n || memcmp(nats_kv_entry_value(e), want, (size_t)n) != 0) {
        if (atomic_fetch_add(&watched_bad, 1) == 0) {
            first_bad_at = expect;
            snprintf(first_bad, sizeof first_bad, "%.*s (key %s, revision %llu)", (int)nats_kv_entry_value_len(e),
                     (const char *)nats_kv_entry_value(e), nats_kv_entry_key(e),
                     (unsigned long long)nats_kv_entry_revision(e));
        }
    }
    expect++;
    atomic_fetch_add(&watched, 1);
}

static void test_kv(nats_jetstream *js) {
    nats_kv_config cfg;
    EXPECT_OK(nats_kv_config_init(&cfg));
    cfg.bucket = "routes";
    /* Room for every value written below: a watcher that has to recreate its consumer (a gap
     * seen under heavy load) re-reads from its last revision, and values the bucket no longer
     * keeps by then cannot be delivered (seen once in a full suite run with history 3). */
    cfg.history = 64;
    cfg.storage = NATS_STORAGE_MEMORY;
    nats_kv *kv = NULL;
    EXPECT_OK(nats_jetstream_kv_create(js, &cfg, &kv));
    nats_kv_watcher *w = NULL;
    EXPECT_OK(nats_kv_watch(kv, "domain.>", NATS_KV_WATCH_UPDATES_ONLY, on_entry, NULL, NULL, &w));
    uint64_t rev = 0, rev2 = 0;
    EXPECT_OK(nats_kv_put(kv, "domain.example", "v0", 2, &rev));
    EXPECT_STATUS(nats_kv_create(kv, "domain.example", "x", 1, NULL), NATS_ERR_EXPECTATION_FAILED);
    EXPECT_STATUS(nats_kv_update(kv, "domain.example", "x", 1, rev + 5, NULL), NATS_ERR_EXPECTATION_FAILED);
    EXPECT_OK(nats_kv_update(kv, "domain.example", "v1", 2, rev, &rev2));
    EXPECT(rev2 > rev);
    nats_kv_entry *e = NULL;
    EXPECT_OK(nats_kv_get(kv, "domain.example", &e));
    EXPECT(nats_kv_entry_revision(e) == rev2 && nats_kv_entry_value_len(e) == 2 &&
           nats_kv_entry_operation(e) == NATS_KV_PUT && str_is(nats_kv_entry_key(e), "domain.example"));
    nats_kv_entry_free(e);
    char val[32];
    for (int i = 2; i < 100; i++) {
        int n = snprintf(val, sizeof val, "v%d", i);
        EXPECT_OK(nats_kv_put(kv, i % 2 ? "domain.a" : "domain.b", val, (size_t)n, NULL));
    }
    WAIT_FOR(atomic_load(&watched) == 100, LIMIT_MS);
    if (atomic_load(&watched) != 100 || atomic_load(&watched_bad) != 0)
        printf("kv watch: %ld entries, %ld not as expected; the first, for v%ld: %s\n", atomic_load(&watched),
               atomic_load(&watched_bad), first_bad_at, first_bad);
    EXPECT(atomic_load(&watched) == 100 && atomic_load(&watched_bad) == 0);
    EXPECT_OK(nats_kv_watcher_stop(w));
    nats_kv_watcher_free(w);

    char **keys = NULL;
    size_t count = 0;
    EXPECT_OK(nats_kv_keys(kv, &keys, &count));
    EXPECT(count == 3);
    nats_strings_free(keys, count);
    nats_kv_entry **hist = NULL;
    EXPECT_OK(nats_kv_history(kv, "domain.a", &hist, &count));
    EXPECT(count == 49); /* every value of domain.a (v3, v5, ..., v99) */
    nats_kv_entries_free(hist, count);
    EXPECT_OK(nats_kv_delete(kv, "domain.a"));
    e = NULL;
    EXPECT_STATUS(nats_kv_get(kv, "domain.a", &e), NATS_ERR_NOT_FOUND);
    EXPECT(e == NULL);
    EXPECT_OK(nats_kv_purge(kv, "domain.b"));
    EXPECT_OK(nats_kv_keys(kv, &keys, &count));
    EXPECT(count == 1 && str_is(keys[0], "domain.example"));
    nats_strings_free(keys, count);

    /* A watcher taken from with next; filtered keys; markers purged; status; bucket names. */
    const char *watched_keys[] = {"domain.*"};
    nats_kv_watcher *sw = NULL;
    EXPECT_OK(nats_kv_watch_sync(kv, watched_keys, 1, NATS_KV_WATCH_IGNORE_DELETES, &sw));
    nats_kv_entry *next = NULL;
    EXPECT_OK(nats_kv_watcher_next(sw, LIMIT_MS, &next));
    /* Its delta counts the two skipped markers still behind it. */
    EXPECT(next != NULL && str_is(nats_kv_entry_key(next), "domain.example") && nats_kv_entry_delta(next) == 2);
    nats_kv_entry_free(next);
    next = NULL;
    EXPECT_STATUS(nats_kv_watcher_next(sw, 100, &next), NATS_ERR_TIMEOUT);
    EXPECT_OK(nats_kv_put(kv, "domain.new", "n", 1, NULL));
    EXPECT_OK(nats_kv_watcher_next(sw, LIMIT_MS, &next));
    EXPECT(next != NULL && str_is(nats_kv_entry_key(next), "domain.new"));
    nats_kv_entry_free(next);
    EXPECT_OK(nats_kv_watcher_stop(sw));
    nats_kv_watcher_free(sw);
    const char *filters[] = {"domain.n*", "domain.example"};
    EXPECT_OK(nats_kv_keys_filtered(kv, filters, 1, &keys, &count));
    EXPECT(count == 0); /* "domain.n*" is not a pattern: '*' must be a whole token */
    nats_strings_free(keys, count);
    EXPECT_OK(nats_kv_keys_filtered(kv, filters + 1, 1, &keys, &count));
    EXPECT(count == 1 && str_is(keys[0], "domain.example"));
    nats_strings_free(keys, count);
    size_t purged = 0;
    EXPECT_OK(nats_kv_purge_deletes(kv, 0, &purged));
    EXPECT(purged == 2); /* the delete of domain.a and the purge of domain.b */
    nats_kv_bucket_status st;
    EXPECT_OK(nats_kv_status(kv, &st));
    EXPECT(str_is(st.bucket, "routes") && str_is(st.stream, "KV_routes") && st.history == 64 &&
           st.storage == NATS_STORAGE_MEMORY);
    char **names = NULL;
    EXPECT_OK(nats_jetstream_kv_names(js, &names, &count));
    EXPECT(count == 1 && str_is(names[0], "routes"));
    nats_strings_free(names, count);
    nats_kv_free(kv);
    kv = NULL;
    EXPECT_OK(nats_jetstream_kv_bind(js, "routes", &kv));
    nats_kv_free(kv);
    EXPECT_OK(nats_jetstream_kv_delete(js, "routes"));
    kv = NULL;
    EXPECT_STATUS(nats_jetstream_kv_bind(js, "routes", &kv), NATS_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------------------------------------ */
/* Object store: a mail body put from a file descriptor, read back through a pipe's worth of
 * a temp file and into a buffer. */

static void test_object_store(nats_jetstream *js) {
    nats_object_store_config cfg;
    EXPECT_OK(nats_object_store_config_init(&cfg));
    cfg.bucket = "bodies";
    cfg.storage = NATS_STORAGE_MEMORY;
    const char *bucket_keys[] = {"owner"}, *bucket_values[] = {"mta"};
    cfg.metadata_keys = bucket_keys;
    cfg.metadata_values = bucket_values;
    cfg.metadata_count = 1;
    nats_object_store *os = NULL;
    EXPECT_OK(nats_jetstream_object_store_create(js, &cfg, &os));
    if (!os) return;
    FILE *in = tmpfile();
    for (int i = 0; i < 200000; i++) fputc('a' + i % 26, in);
    fflush(in);
    rewind(in);
    nats_object_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.name = "queue/1234.eml";
    meta.chunk_size = 32 * 1024;
    nats_object_info *info = NULL;
    EXPECT_OK(nats_object_store_put_fd(os, &meta, fileno(in), &info));
    EXPECT(info != NULL && info->size == 200000 && info->chunks == 7 && strncmp(info->digest, "SHA-256=", 8) == 0);
    nats_object_info_free(info);
    FILE *out = tmpfile();
    EXPECT_OK(nats_object_store_get_fd(os, "queue/1234.eml", fileno(out), NULL));
    EXPECT(fseek(out, 0, SEEK_END) == 0 && ftell(out) == 200000);
    void *data = NULL;
    size_t len = 0;
    EXPECT_OK(nats_object_store_get(os, "queue/1234.eml", &data, &len, NULL));
    EXPECT(len == 200000 && data != NULL && ((const char *)data)[27] == 'b');
    nats_bytes_free(data);
    nats_object_info **infos = NULL;
    size_t n = 0;
    EXPECT_OK(nats_object_store_list(os, &infos, &n));
    EXPECT(n == 1 && strcmp(infos[0]->name, "queue/1234.eml") == 0);
    nats_object_infos_free(infos, n);
    EXPECT_OK(nats_object_store_delete(os, "queue/1234.eml"));
    data = NULL;
    EXPECT_STATUS(nats_object_store_get(os, "queue/1234.eml", &data, &len, NULL), NATS_ERR_NOT_FOUND);
    fclose(in);
    fclose(out);
    nats_object_store_free(os);
    EXPECT_OK(nats_jetstream_object_store_delete(js, "bodies"));
}

static void test_bad_input(nats_jetstream *js) {
    EXPECT_STATUS(nats_jetstream_consumer_create(js, NULL, NULL, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_pull_consumer_next(NULL, 100, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_ack(NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_kv_get(NULL, "k", NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_jetstream_kv_bind(js, "bad name", NULL), NATS_ERR_INVALID_ARGUMENT);
    const char bad_utf8[] = {'\xff', 'k', 0};
    nats_kv *kv = NULL;
    EXPECT_STATUS(nats_jetstream_kv_bind(js, bad_utf8, &kv), NATS_ERR_INVALID_UTF8);
    nats_msgs_free(NULL, 0);
    nats_kv_entries_free(NULL, 0);
    nats_kv_entry_free(NULL);
    nats_kv_watcher_free(NULL);
    nats_consumer_info_free(NULL);
    nats_pull_consumer_free(NULL);
    nats_kv_free(NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <url of a nats-server with JetStream>\n", argv[0]);
        return 2;
    }
    nats_connection *c = NULL;
    EXPECT_OK(nats_connect_url(argv[1], &c));
    if (!c) return 1;
    nats_jetstream_options *jo = NULL;
    EXPECT_OK(nats_jetstream_options_new(&jo));
    EXPECT_OK(nats_jetstream_options_set_timeout_ms(jo, 10000));
    nats_jetstream *js = NULL;
    EXPECT_OK(nats_jetstream_new(c, jo, &js));
    nats_jetstream_options_free(jo);
    test_streams_and_publish(c, js);
    test_stream_details(js);
    test_subject_subscriptions(js);
    test_async_publish(js);
    test_pull(js);
    test_push_ordered_consume(c, js);
    test_kv(js);
    test_object_store(js);
    test_bad_input(js);
    EXPECT_OK(nats_jetstream_stream_delete(js, "ORDERS"));
    nats_jetstream_free(js);
    EXPECT_OK(nats_connection_drain(c, LIMIT_MS));
    nats_connection_free(c);
    printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) == 0 ? 0 : 1;
}
