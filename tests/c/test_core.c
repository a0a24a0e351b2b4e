/* test_core <url>: the complete core client exercised from C against a real nats-server:
 * headers, synchronous subscriptions, auto-unsubscribe, subscription drain, pending limits and
 * slow consumers, connection drain / stats / server info / reconnect, connection events,
 * reconnect tuning and async requests. Prints "N passed, M failed"; exits 0 only if none failed.
 * Counters shared with callbacks are C11 atomics; waits are bounded polling loops. */
#include <nats_ffi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static nats_connection *connect_plain(const char *url) {
    nats_connection *c = NULL;
    EXPECT_OK(nats_connect_url(url, &c));
    return c;
}

/* ------------------------------------------------------------------------------------------ */
/* The connection's own side: local address, signing; and a websocket connection */

static atomic_int ws_seen;

static void on_ws_msg(void *ud, nats_subscription *sub, const nats_msg *m) {
    (void)ud;
    (void)sub;
    if (nats_msg_data_len(m) == 2 && memcmp(nats_msg_data(m), "ws", 2) == 0) atomic_fetch_add(&ws_seen, 1);
}

static void test_local_address_and_websocket(nats_connection *pub, int server_port, const char *ws_url) {
    char *ip = NULL;
    uint16_t local_port = 0;
    EXPECT_OK(nats_connection_local_address(pub, &ip, &local_port));
    EXPECT(ip != NULL && strcmp(ip, "127.0.0.1") == 0 && local_port != 0 && local_port != server_port);
    nats_string_free(ip);
    unsigned char sig[NATS_NKEY_SIGNATURE_LEN];
    EXPECT_STATUS(nats_connection_sign(pub, "x", 1, sig), NATS_ERR_INVALID_ARGUMENT); /* no NKey */
    if (!ws_url) return;
    nats_connection *ws = connect_plain(ws_url);
    if (!ws) return;
    nats_subscription *sub = NULL;
    EXPECT_OK(nats_subscribe(ws, "over.ws", on_ws_msg, NULL, &sub));
    EXPECT_OK(nats_connection_flush(ws, LIMIT_MS));
    EXPECT_OK(nats_publish(pub, "over.ws", "ws", 2));
    WAIT_FOR(atomic_load(&ws_seen) == 1, LIMIT_MS);
    EXPECT(atomic_load(&ws_seen) == 1);
    ip = NULL;
    EXPECT_STATUS(nats_connection_local_address(ws, &ip, &local_port), NATS_ERR_NOT_FOUND);
    EXPECT(ip == NULL);
    nats_subscription_free(sub);
    nats_connection_free(ws);
}

/* ------------------------------------------------------------------------------------------ */
/* Connection events */

struct events {
    pthread_mutex_t mu;
    char order[64];           /* C connected, D disconnected, R reconnected, X closed, L, S */
    int n;
    nats_connection *conn_seen;
    atomic_int connected, disconnected, reconnected, closed, lame_duck, discovered, bad_user_data;
    nats_conn_status status_in_connected, status_in_reconnected, status_in_closed;
    nats_status flush_in_reconnected;
    /* Error callback. */
    atomic_int errors, slow_consumer_errors, closed_errors;
    nats_subscription *slow_sub;
    nats_status first_error;
    char first_error_text[256];
    /* Reconnect delay callback. */
    atomic_int delay_calls;
    atomic_uint last_attempts;
    atomic_uint max_attempts;
};

static void ev_init(struct events *ev) {
    memset(ev, 0, sizeof *ev);
    pthread_mutex_init(&ev->mu, NULL);
    ev->status_in_connected = ev->status_in_reconnected = ev->status_in_closed = -1;
    ev->flush_in_reconnected = -1;
    ev->first_error = -1;
}

static void ev_log(struct events *ev, char c, nats_connection *conn) {
    pthread_mutex_lock(&ev->mu);
    if (ev->n < (int)sizeof ev->order - 1) ev->order[ev->n++] = c;
    ev->conn_seen = conn;
    pthread_mutex_unlock(&ev->mu);
}

static struct events ev_main, ev_off;

static struct events *ev_of(void *ud) {
    if (ud != &ev_main && ud != &ev_off) {
        atomic_fetch_add(&ev_main.bad_user_data, 1);
        return NULL;
    }
    return ud;
}

static void on_connected(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    /* Callbacks may call the API. */
    ev->status_in_connected = nats_connection_status(conn);
    ev_log(ev, 'C', conn);
    atomic_fetch_add(&ev->connected, 1);
}

static void on_disconnected(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    ev_log(ev, 'D', conn);
    atomic_fetch_add(&ev->disconnected, 1);
}

static void on_reconnected(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    /* Blocking calls are allowed in callbacks too. */
    ev->status_in_reconnected = nats_connection_status(conn);
    ev->flush_in_reconnected = nats_connection_flush(conn, 5000);
    ev_log(ev, 'R', conn);
    atomic_fetch_add(&ev->reconnected, 1);
}

static void on_closed(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    ev->status_in_closed = nats_connection_status(conn);
    ev_log(ev, 'X', conn);
    atomic_fetch_add(&ev->closed, 1);
}

static void on_lame_duck(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    ev_log(ev, 'L', conn);
    atomic_fetch_add(&ev->lame_duck, 1);
}

static void on_discovered(void *ud, nats_connection *conn) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    ev_log(ev, 'S', conn);
    atomic_fetch_add(&ev->discovered, 1);
}

static void on_error(void *ud, nats_connection *conn, nats_subscription *sub, nats_status status, const char *text) {
    struct events *ev = ev_of(ud);
    if (!ev) return;
    pthread_mutex_lock(&ev->mu);
    ev->conn_seen = conn;
    if (ev->first_error == -1) {
        ev->first_error = status;
        snprintf(ev->first_error_text, sizeof ev->first_error_text, "%s", text ? text : "(null)");
    }
    if (status == NATS_ERR_SLOW_CONSUMER) {
        ev->slow_sub = sub;
        atomic_fetch_add(&ev->slow_consumer_errors, 1);
    }
    if (status == NATS_ERR_CONNECTION_CLOSED) atomic_fetch_add(&ev->closed_errors, 1);
    pthread_mutex_unlock(&ev->mu);
    /* The description is never NULL or empty. */
    if (!text || !*text) atomic_fetch_add(&ev->bad_user_data, 1);
    atomic_fetch_add(&ev->errors, 1);
}

static uint64_t on_delay(void *ud, uint32_t attempts) {
    struct events *ev = ev_of(ud);
    if (!ev) return 100;
    atomic_store(&ev->last_attempts, attempts);
    if (attempts > atomic_load(&ev->max_attempts)) atomic_store(&ev->max_attempts, attempts);
    atomic_fetch_add(&ev->delay_calls, 1);
    return ev == &ev_off ? 20 : 0;
}

static void set_all_events(nats_options *o, struct events *ev) {
    EXPECT_OK(nats_options_set_connected_cb(o, on_connected, ev));
    EXPECT_OK(nats_options_set_disconnected_cb(o, on_disconnected, ev));
    EXPECT_OK(nats_options_set_reconnected_cb(o, on_reconnected, ev));
    EXPECT_OK(nats_options_set_closed_cb(o, on_closed, ev));
    EXPECT_OK(nats_options_set_lame_duck_cb(o, on_lame_duck, ev));
    EXPECT_OK(nats_options_set_discovered_servers_cb(o, on_discovered, ev));
    EXPECT_OK(nats_options_set_error_cb(o, on_error, ev));
    EXPECT_OK(nats_options_set_reconnect_delay_cb(o, on_delay, ev));
}

/* ------------------------------------------------------------------------------------------ */
/* Option setters: reconnect tuning and events, argument validation. */

static void test_setters(void) {
    nats_options *o = NULL;
    EXPECT_OK(nats_options_new(&o));
    EXPECT_STATUS(nats_options_set_reconnect_wait_ms(NULL, 10), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_reconnect_wait_ms(o, 0));
    EXPECT_OK(nats_options_set_reconnect_wait_ms(o, 250));
    EXPECT_STATUS(nats_options_set_reconnect_jitter_ms(NULL, 1, 2), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_reconnect_jitter_ms(o, 0, 0));
    EXPECT_OK(nats_options_set_reconnect_jitter_ms(o, 10, 20));
    EXPECT_STATUS(nats_options_set_max_pings_out(NULL, 2), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_max_pings_out(o, 0), NATS_ERR_INVALID_ARGUMENT);
    EXPECT(strlen(nats_last_error()) > 0);
    EXPECT_OK(nats_options_set_max_pings_out(o, 1));
    EXPECT_OK(nats_options_set_max_pings_out(o, 5));
    EXPECT_STATUS(nats_options_set_reconnect_buffer_size(NULL, 10), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_reconnect_buffer_size(o, 0));
    EXPECT_OK(nats_options_set_reconnect_buffer_size(o, 1 << 20));
    EXPECT_STATUS(nats_options_set_no_randomize(NULL, true), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_no_randomize(o, true));
    EXPECT_OK(nats_options_set_no_randomize(o, false));
    EXPECT_STATUS(nats_options_set_reconnect_delay_cb(NULL, on_delay, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_reconnect_delay_cb(o, on_delay, &ev_main));
    EXPECT_OK(nats_options_set_reconnect_delay_cb(o, NULL, NULL));
    EXPECT_STATUS(nats_options_set_error_cb(NULL, on_error, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_error_cb(o, NULL, NULL));
    EXPECT_STATUS(nats_options_set_connected_cb(NULL, on_connected, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_disconnected_cb(NULL, on_disconnected, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_reconnected_cb(NULL, on_reconnected, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_closed_cb(NULL, on_closed, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_lame_duck_cb(NULL, on_lame_duck, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_discovered_servers_cb(NULL, on_discovered, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_options_set_connected_cb(o, NULL, NULL));
    EXPECT_OK(nats_options_set_closed_cb(o, on_closed, &ev_main));
    EXPECT_OK(nats_options_set_closed_cb(o, NULL, NULL));
    nats_options_free(o);
}

/* ------------------------------------------------------------------------------------------ */
/* Headers */

static atomic_int echo_requests;

/* Echoes a request back with headers: Echo-Req-Id = the request's Req-Id, X-Multi-Count =
 * how many X-Multi values it had. user_data is the responder's connection. */
static void header_echo_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    nats_connection *conn = ud;
    const char *rid = NULL;
    const char *const *vals = NULL;
    size_t n = 0;
    char count[16];
    nats_msg *r = NULL;
    (void)sub;
    EXPECT(nats_msg_reply(msg) != NULL);
    EXPECT_OK(nats_msg_header_get(msg, "Req-Id", &rid));
    EXPECT_OK(nats_msg_header_values(msg, "X-Multi", &vals, &n));
    snprintf(count, sizeof count, "%zu", n);
    EXPECT_OK(nats_msg_new(nats_msg_reply(msg), NULL, nats_msg_data(msg), nats_msg_data_len(msg), &r));
    EXPECT_OK(nats_msg_header_set(r, "Echo-Req-Id", rid ? rid : "missing"));
    EXPECT_OK(nats_msg_header_set(r, "X-Multi-Count", count));
    EXPECT_OK(nats_publish_msg(conn, r));
    nats_msg_free(r);
    atomic_fetch_add(&echo_requests, 1);
}

static void test_headers(nats_connection *nc, nats_connection *pub) {
    int sentinel_target;
    void *sentinel = &sentinel_target;
    nats_msg *m = sentinel;
    const char *v = NULL;
    const char *const *vals = NULL;
    const char *const *keys = NULL;
    size_t n = 0;

    /* nats_msg_new validation; out untouched on failure. */
    EXPECT_STATUS(nats_msg_new(NULL, NULL, "x", 1, &m), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_new("a.*", NULL, "x", 1, &m), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_msg_new("a b", NULL, "x", 1, &m), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_msg_new("ok", "bad reply", "x", 1, &m), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_msg_new("ok", NULL, NULL, 3, &m), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_new("ok", NULL, "x", 1, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT(m == sentinel);

    /* An empty message: no headers, ordinary status. */
    m = NULL;
    EXPECT_OK(nats_msg_new("core.hdr.pub", NULL, NULL, 0, &m));
    EXPECT(m != NULL && str_is(nats_msg_subject(m), "core.hdr.pub") && nats_msg_reply(m) == NULL);
    EXPECT(nats_msg_data_len(m) == 0 && nats_msg_data(m) != NULL);
    keys = (const char *const *)sentinel;
    n = 99;
    EXPECT_OK(nats_msg_header_keys(m, &keys, &n));
    EXPECT(n == 0 && keys == NULL);
    EXPECT_STATUS(nats_msg_header_get(m, "X-A", &v), NATS_ERR_NOT_FOUND);
    EXPECT(nats_msg_status(m) == 0 && nats_msg_status_description(m) == NULL);
    nats_msg_free(m);

    /* Set / add / get / values / keys / delete. */
    m = NULL;
    EXPECT_OK(nats_msg_new("core.hdr.pub", "core.hdr.rep", "payload", 7, &m));
    EXPECT_OK(nats_msg_header_set(m, "X-A", "1"));
    EXPECT_OK(nats_msg_header_add(m, "X-A", "2"));
    EXPECT_OK(nats_msg_header_set(m, "B", "b"));
    EXPECT_OK(nats_msg_header_add(m, "C", "c1"));          /* add creates the header */
    EXPECT_OK(nats_msg_header_add(m, "C", "c2"));
    EXPECT_OK(nats_msg_header_set(m, "C", "c3"));          /* set replaces every value */
    EXPECT_OK(nats_msg_header_get(m, "X-A", &v));
    EXPECT(str_is(v, "1"));
    EXPECT_OK(nats_msg_header_values(m, "X-A", &vals, &n));
    EXPECT(n == 2 && str_is(vals[0], "1") && str_is(vals[1], "2"));
    EXPECT_OK(nats_msg_header_values(m, "C", &vals, &n));
    EXPECT(n == 1 && str_is(vals[0], "c3"));
    EXPECT_STATUS(nats_msg_header_get(m, "x-a-missing", &v), NATS_ERR_NOT_FOUND);
    /* Keys are case-sensitive. */
    v = sentinel;
    EXPECT_STATUS(nats_msg_header_get(m, "x-a", &v), NATS_ERR_NOT_FOUND);
    EXPECT(v == sentinel);
    vals = (const char *const *)sentinel;
    n = 77;
    EXPECT_STATUS(nats_msg_header_values(m, "Missing", &vals, &n), NATS_ERR_NOT_FOUND);
    EXPECT(vals == (const char *const *)sentinel && n == 77);
    EXPECT_STATUS(nats_msg_header_delete(m, "Missing"), NATS_ERR_NOT_FOUND);
    EXPECT_OK(nats_msg_header_keys(m, &keys, &n));
    EXPECT(n == 3 && str_is(keys[0], "B") && str_is(keys[1], "C") && str_is(keys[2], "X-A"));
    EXPECT_OK(nats_msg_header_delete(m, "C"));
    EXPECT_STATUS(nats_msg_header_get(m, "C", &v), NATS_ERR_NOT_FOUND);
    EXPECT_STATUS(nats_msg_header_delete(m, "C"), NATS_ERR_NOT_FOUND);
    EXPECT_OK(nats_msg_header_keys(m, &keys, &n));
    EXPECT(n == 2 && str_is(keys[0], "B") && str_is(keys[1], "X-A"));
    /* Validation. */
    EXPECT_STATUS(nats_msg_header_set(m, "bad:key", "x"), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_set(m, "K", "line\r\nbreak"), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_add(m, "K", "line\nbreak"), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_set(m, "\xff", "x"), NATS_ERR_INVALID_UTF8);
    EXPECT_STATUS(nats_msg_header_set(m, NULL, "x"), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_set(m, "K", NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_set(NULL, "K", "v"), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_get(NULL, "K", &v), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_get(m, "K", NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_values(m, "X-A", NULL, &n), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_keys(m, NULL, &n), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_msg_header_delete(NULL, "K"), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_msg_header_keys(m, &keys, &n));
    EXPECT(n == 2);                                        /* failed calls changed nothing */

    /* nats_publish_msg: subject, reply, payload and headers arrive; msg unchanged. */
    nats_subscription *sync = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.hdr.pub", &sync));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    EXPECT_STATUS(nats_publish_msg(NULL, m), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_publish_msg(nc, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_publish_msg(pub, m));
    EXPECT_OK(nats_publish_msg(pub, m));
    nats_msg *got = NULL;
    EXPECT_OK(nats_subscription_next_msg(sync, 5000, &got));
    EXPECT(got && str_is(nats_msg_subject(got), "core.hdr.pub") && str_is(nats_msg_reply(got), "core.hdr.rep"));
    EXPECT(data_is(got, "payload"));
    EXPECT(nats_msg_status(got) == 0);
    if (got) {
        EXPECT_OK(nats_msg_header_values(got, "X-A", &vals, &n));
        EXPECT(n == 2 && str_is(vals[0], "1") && str_is(vals[1], "2"));
        EXPECT_OK(nats_msg_header_get(got, "B", &v));
        EXPECT(str_is(v, "b"));
        EXPECT_STATUS(nats_msg_header_get(got, "C", &v), NATS_ERR_NOT_FOUND);
        EXPECT_OK(nats_msg_header_keys(got, &keys, &n));
        EXPECT(n == 2 && str_is(keys[0], "B") && str_is(keys[1], "X-A"));
        /* A received message can be re-published as is. */
        nats_msg *again = NULL;
        EXPECT_OK(nats_publish_msg(nc, got));
        EXPECT_OK(nats_subscription_next_msg(sync, 5000, &again));  /* the second publish */
        EXPECT(data_is(again, "payload"));
        nats_msg_free(again);
        again = NULL;
        EXPECT_OK(nats_subscription_next_msg(sync, 5000, &again));  /* the re-publish */
        EXPECT(again && str_is(nats_msg_reply(again), "core.hdr.rep"));
        if (again) {
            EXPECT_OK(nats_msg_header_values(again, "X-A", &vals, &n));
            EXPECT(n == 2 && str_is(vals[1], "2"));
        }
        nats_msg_free(again);
    }
    nats_msg_free(got);
    EXPECT(str_is(nats_msg_reply(m), "core.hdr.rep"));
    nats_subscription_free(sync);
    nats_msg_free(m);

    /* nats_request_msg: the responder echoes a header back. */
    nats_subscription *svc = NULL;
    EXPECT_OK(nats_subscribe(pub, "core.hdr.echo", header_echo_cb, pub, &svc));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    m = NULL;
    EXPECT_OK(nats_msg_new("core.hdr.echo", "core.ignored", "ping", 4, &m));
    EXPECT_OK(nats_msg_header_set(m, "Req-Id", "42"));
    EXPECT_OK(nats_msg_header_add(m, "X-Multi", "a"));
    EXPECT_OK(nats_msg_header_add(m, "X-Multi", "b"));
    nats_msg *rep = NULL;
    EXPECT_OK(nats_request_msg(nc, m, 5000, &rep));
    EXPECT(rep != NULL && data_is(rep, "ping") && nats_msg_reply(rep) == NULL);
    EXPECT(rep && starts_with(nats_msg_subject(rep), "_CORE_INBOX.")); /* nc's inbox prefix */
    if (rep) {
        EXPECT_OK(nats_msg_header_get(rep, "Echo-Req-Id", &v));
        EXPECT(str_is(v, "42"));
        EXPECT_OK(nats_msg_header_get(rep, "X-Multi-Count", &v));
        EXPECT(str_is(v, "2"));
        EXPECT(nats_msg_status(rep) == 0);
    }
    nats_msg_free(rep);
    /* The request message is left unchanged. */
    EXPECT(str_is(nats_msg_reply(m), "core.ignored"));
    EXPECT_OK(nats_msg_header_get(m, "Req-Id", &v));
    EXPECT(str_is(v, "42"));
    WAIT_FOR(atomic_load(&echo_requests) == 1, LIMIT_MS); /* counted after its publish */
    EXPECT(atomic_load(&echo_requests) == 1);
    nats_msg_free(m);
    /* No responders; out-param untouched. */
    m = NULL;
    EXPECT_OK(nats_msg_new("core.hdr.nobody", NULL, "x", 1, &m));
    rep = sentinel;
    EXPECT_STATUS(nats_request_msg(nc, m, 5000, &rep), NATS_ERR_NO_RESPONDERS);
    EXPECT(rep == sentinel);
    EXPECT_STATUS(nats_request_msg(nc, NULL, 5000, &rep), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_request_msg(nc, m, 5000, NULL), NATS_ERR_NULL_ARGUMENT);
    nats_msg_free(m);
    nats_subscription_free(svc);

    /* A status message: publish with a reply inbox to a subject nobody listens on. */
    char *inbox = NULL;
    EXPECT_OK(nats_connection_new_inbox(nc, &inbox));
    nats_subscription *isub = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, inbox, &isub));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    EXPECT_OK(nats_publish_with_reply(nc, "core.nobody.home", inbox, NULL, 0));
    nats_msg *status_msg = NULL;
    EXPECT_OK(nats_subscription_next_msg(isub, 5000, &status_msg));
    EXPECT(status_msg && nats_msg_status(status_msg) == 503);
    EXPECT(status_msg && str_is(nats_msg_subject(status_msg), inbox));
    EXPECT(nats_msg_status(NULL) == 0);
    nats_msg_free(status_msg);
    nats_subscription_free(isub);
    nats_string_free(inbox);
}

/* ------------------------------------------------------------------------------------------ */
/* Synchronous subscriptions */

static void noop_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)sub; (void)msg;
}

static void test_sync_subscriptions(nats_connection *nc, nats_connection *pub) {
    int sentinel_target;
    void *sentinel = &sentinel_target;
    nats_subscription *sub = sentinel;
    nats_msg *m = sentinel;
    char buf[32];

    EXPECT_STATUS(nats_subscribe_sync(nc, "a..b", &sub), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_subscribe_sync(nc, NULL, &sub), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_subscribe_sync(NULL, "x", &sub), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_subscribe_sync(nc, "x", NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_queue_subscribe_sync(nc, "x", "", &sub), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_queue_subscribe_sync(nc, "x", "a b", &sub), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_queue_subscribe_sync(nc, "x", NULL, &sub), NATS_ERR_NULL_ARGUMENT);
    EXPECT(sub == sentinel);

    sub = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.s.>", &sub));
    EXPECT(nats_subscription_is_valid(sub));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    /* Timeout: waits about as long as asked, out-param untouched. */
    long long t0 = now_ms();
    EXPECT_STATUS(nats_subscription_next_msg(sub, 200, &m), NATS_ERR_TIMEOUT);
    EXPECT(now_ms() - t0 >= 190);
    EXPECT(m == sentinel);
    EXPECT_STATUS(nats_subscription_next_msg(sub, 0, &m), NATS_ERR_TIMEOUT);
    EXPECT_STATUS(nats_subscription_next_msg(sub, 10, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_subscription_next_msg(NULL, 10, &m), NATS_ERR_NULL_ARGUMENT);
    /* Order. */
    for (int i = 0; i < 100; i++) {
        char subj[32];
        snprintf(subj, sizeof subj, "core.s.%d", i);
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_OK(nats_publish(pub, subj, buf, strlen(buf)));
    }
    int in_order = 0;
    for (int i = 0; i < 100; i++) {
        char subj[32];
        nats_msg *got = NULL;
        snprintf(subj, sizeof subj, "core.s.%d", i);
        snprintf(buf, sizeof buf, "%d", i);
        if (nats_subscription_next_msg(sub, 5000, &got) == NATS_OK && str_is(nats_msg_subject(got), subj) && data_is(got, buf)) in_order++;
        nats_msg_free(got);
    }
    EXPECT(in_order == 100);
    EXPECT_STATUS(nats_subscription_next_msg(sub, 0, &m), NATS_ERR_TIMEOUT);
    EXPECT(nats_subscription_delivered(sub) == 100);
    EXPECT(nats_subscription_dropped(sub) == 0);
    int64_t pm = -5, pb = -5;
    EXPECT_OK(nats_subscription_pending(sub, &pm, &pb));
    EXPECT(pm == 0 && pb == 0);
    /* A message taken with timeout 0 when one is already there. */
    EXPECT_OK(nats_publish(pub, "core.s.last", "L", 1));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    WAIT_FOR((nats_subscription_pending(sub, &pm, NULL), pm == 1), LIMIT_MS);
    EXPECT_OK(nats_subscription_pending(sub, &pm, &pb));
    EXPECT(pm == 1 && pb == 1);
    m = NULL;
    EXPECT_OK(nats_subscription_next_msg(sub, 0, &m));
    EXPECT(data_is(m, "L"));
    nats_msg_free(m);
    EXPECT(nats_subscription_delivered(sub) == 101);

    /* next_msg on a callback subscription is refused. */
    nats_subscription *cb = NULL;
    EXPECT_OK(nats_subscribe(nc, "core.cb", noop_cb, NULL, &cb));
    m = sentinel;
    EXPECT_STATUS(nats_subscription_next_msg(cb, 10, &m), NATS_ERR_INVALID_ARGUMENT);
    EXPECT(m == sentinel);
    nats_subscription_free(cb);

    /* Queue group of synchronous members: each message to exactly one member. */
    enum { MEMBERS = 3, JOBS = 300 };
    nats_subscription *members[MEMBERS] = {NULL};
    static unsigned char seen[JOBS];
    int per_member[MEMBERS] = {0}, total = 0, dups = 0, bad = 0;
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < MEMBERS; i++) EXPECT_OK(nats_queue_subscribe_sync(nc, "core.work", "workers", &members[i]));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < JOBS; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_STATUS(nats_publish(pub, "core.work", buf, strlen(buf)), NATS_OK);
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    long long dl = now_ms() + LIMIT_MS;
    while (total < JOBS && now_ms() < dl) {
        for (int i = 0; i < MEMBERS; i++) {
            nats_msg *got = NULL;
            while (nats_subscription_next_msg(members[i], 10, &got) == NATS_OK) {
                char tmp[16] = {0};
                size_t len = nats_msg_data_len(got);
                if (len < sizeof tmp) memcpy(tmp, nats_msg_data(got), len);
                int k = atoi(tmp);
                if (k < 0 || k >= JOBS) bad++;
                else if (seen[k]++) dups++;
                per_member[i]++;
                total++;
                nats_msg_free(got);
                got = NULL;
            }
        }
    }
    EXPECT(total == JOBS && dups == 0 && bad == 0);
    for (int i = 0; i < MEMBERS; i++) EXPECT(per_member[i] > 0);
    /* Nothing more for anyone. */
    for (int i = 0; i < MEMBERS; i++) EXPECT_STATUS(nats_subscription_next_msg(members[i], 100, &m), NATS_ERR_TIMEOUT);
    for (int i = 0; i < MEMBERS; i++) nats_subscription_free(members[i]);

    /* Unsubscribed: the end is reported. */
    EXPECT_OK(nats_subscription_unsubscribe(sub));
    EXPECT(!nats_subscription_is_valid(sub));
    EXPECT_STATUS(nats_subscription_next_msg(sub, 10, &m), NATS_ERR_INVALID_SUBSCRIPTION);
    EXPECT_STATUS(nats_subscription_unsubscribe(sub), NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(sub);
}

/* ------------------------------------------------------------------------------------------ */
/* Auto-unsubscribe */

static atomic_int au_count, au_freed, au_wrong;

static void au_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    char want[8];
    (void)sub;
    if (ud != &au_count) atomic_fetch_add(&au_wrong, 1);
    snprintf(want, sizeof want, "%d", atomic_load(&au_count));
    if (!data_is(msg, want)) atomic_fetch_add(&au_wrong, 1);
    atomic_fetch_add(&au_count, 1);
}

static void au_free(void *ud) {
    if (ud != &au_count) atomic_fetch_add(&au_wrong, 1);
    atomic_fetch_add(&au_freed, 1);
}

static void test_auto_unsubscribe(nats_connection *nc, nats_connection *pub) {
    char buf[16];
    nats_msg *m = NULL;

    /* Synchronous: exactly 5 of 20. */
    nats_subscription *s = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.au", &s));
    EXPECT_STATUS(nats_subscription_auto_unsubscribe(s, 0), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_subscription_auto_unsubscribe(NULL, 5), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_subscription_auto_unsubscribe(s, 5));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < 20; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_OK(nats_publish(pub, "core.au", buf, strlen(buf)));
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        m = NULL;
        snprintf(buf, sizeof buf, "%d", i);
        if (nats_subscription_next_msg(s, 5000, &m) == NATS_OK && data_is(m, buf)) ok++;
        nats_msg_free(m);
    }
    EXPECT(ok == 5);
    m = NULL;
    EXPECT_STATUS(nats_subscription_next_msg(s, 1000, &m), NATS_ERR_INVALID_SUBSCRIPTION);
    EXPECT(m == NULL);
    EXPECT(!nats_subscription_is_valid(s));
    EXPECT(nats_subscription_delivered(s) == 5);
    EXPECT_STATUS(nats_subscription_unsubscribe(s), NATS_ERR_INVALID_SUBSCRIPTION);
    EXPECT_STATUS(nats_subscription_auto_unsubscribe(s, 10), NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(s);

    /* Counting messages already received: 2 taken, max 3, so one more. */
    s = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.au2", &s));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    EXPECT_OK(nats_publish(pub, "core.au2", "a", 1));
    EXPECT_OK(nats_publish(pub, "core.au2", "b", 1));
    for (int i = 0; i < 2; i++) {
        m = NULL;
        EXPECT_OK(nats_subscription_next_msg(s, 5000, &m));
        nats_msg_free(m);
    }
    EXPECT_OK(nats_subscription_auto_unsubscribe(s, 3));
    for (int i = 0; i < 5; i++) EXPECT_OK(nats_publish(pub, "core.au2", "x", 1));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    m = NULL;
    EXPECT_OK(nats_subscription_next_msg(s, 5000, &m));
    EXPECT(data_is(m, "x"));
    nats_msg_free(m);
    EXPECT_STATUS(nats_subscription_next_msg(s, 1000, &m), NATS_ERR_INVALID_SUBSCRIPTION);
    EXPECT(nats_subscription_delivered(s) == 3);
    nats_subscription_free(s);

    /* Callback subscription: exactly 3 of 10, then the end (user_data_free runs once). */
    s = NULL;
    EXPECT_OK(nats_subscribe_ex(nc, "core.au3", NULL, au_cb, &au_count, au_free, &s));
    EXPECT_OK(nats_subscription_auto_unsubscribe(s, 3));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_OK(nats_publish(pub, "core.au3", buf, strlen(buf)));
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    WAIT_FOR(atomic_load(&au_freed) == 1, LIMIT_MS);
    EXPECT(atomic_load(&au_freed) == 1);
    EXPECT(atomic_load(&au_count) == 3 && atomic_load(&au_wrong) == 0);
    EXPECT(!nats_subscription_is_valid(s));
    EXPECT(nats_subscription_delivered(s) == 3);
    EXPECT_STATUS(nats_subscription_unsubscribe(s), NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(s);
    EXPECT(atomic_load(&au_freed) == 1 && atomic_load(&au_count) == 3);
}

/* ------------------------------------------------------------------------------------------ */
/* Subscription drain */

static void slow_count_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)sub; (void)msg;
    sleep_us(500);
    atomic_fetch_add((atomic_int *)ud, 1);
}

struct reader {
    nats_subscription *sub;
    int taken;
    nats_status end;
    int in_order;
};

static void *reader_main(void *arg) {
    struct reader *r = arg;
    char want[8];
    sleep_ms(200); /* the drain below starts while everything is still queued */
    for (;;) {
        nats_msg *m = NULL;
        nats_status st = nats_subscription_next_msg(r->sub, 10000, &m);
        if (st != NATS_OK) { r->end = st; break; }
        snprintf(want, sizeof want, "%d", r->taken);
        if (data_is(m, want)) r->in_order++;
        r->taken++;
        nats_msg_free(m);
    }
    return NULL;
}

static void test_subscription_drain(nats_connection *nc, nats_connection *pub) {
    static atomic_int count;
    char buf[16];
    enum { N = 2000 };

    /* Callback subscription: everything sent before the drain is delivered when it returns. */
    nats_subscription *s = NULL;
    EXPECT_OK(nats_subscribe(nc, "core.dr", slow_count_cb, &count, &s));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < N; i++) EXPECT_STATUS(nats_publish(pub, "core.dr", &i, sizeof i), NATS_OK);
    EXPECT_OK(nats_connection_flush(pub, 5000));
    EXPECT(atomic_load(&count) < N); /* the slow callback is still behind */
    EXPECT_STATUS(nats_subscription_drain(NULL, 100), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_subscription_drain(s, 60000));
    EXPECT(atomic_load(&count) == N);
    EXPECT(nats_subscription_delivered(s) == N);
    /* Nothing published after the drain arrives. */
    EXPECT_OK(nats_publish(pub, "core.dr", "late", 4));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    sleep_ms(200);
    EXPECT(atomic_load(&count) == N);
    EXPECT(!nats_subscription_is_valid(s));
    EXPECT_STATUS(nats_subscription_drain(s, 100), NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(s);

    /* Synchronous, drain with a timeout: returns once the reader emptied the queue. */
    s = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.dr2", &s));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < 50; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_OK(nats_publish(pub, "core.dr2", buf, strlen(buf)));
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    int64_t queued = 0;
    WAIT_FOR((nats_subscription_pending(s, &queued, NULL), queued == 50), LIMIT_MS);
    EXPECT(queued == 50);
    struct reader r = {s, 0, NATS_OK, 0};
    pthread_t th;
    EXPECT(pthread_create(&th, NULL, reader_main, &r) == 0);
    EXPECT_OK(nats_subscription_drain(s, 30000));
    /* Documented: the drain waits until all were delivered, i.e. taken with next_msg. */
    EXPECT(nats_subscription_delivered(s) == 50);
    pthread_join(th, NULL);
    EXPECT(r.taken == 50 && r.in_order == 50);
    EXPECT(r.end == NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(s);

    /* Synchronous, drain without waiting: every queued message is still there to take. */
    s = NULL;
    EXPECT_OK(nats_subscribe_sync(nc, "core.dr3", &s));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < 50; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        EXPECT_OK(nats_publish(pub, "core.dr3", buf, strlen(buf)));
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    int64_t pm = 0;
    WAIT_FOR((nats_subscription_pending(s, &pm, NULL), pm == 50), LIMIT_MS);
    EXPECT_OK(nats_subscription_drain(s, 0));
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        nats_msg *m = NULL;
        snprintf(buf, sizeof buf, "%d", i);
        if (nats_subscription_next_msg(s, 5000, &m) == NATS_OK && data_is(m, buf)) ok++;
        nats_msg_free(m);
    }
    EXPECT(ok == 50);
    nats_msg *m = NULL;
    EXPECT_STATUS(nats_subscription_next_msg(s, 1000, &m), NATS_ERR_INVALID_SUBSCRIPTION);
    nats_subscription_free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Pending limits and slow consumers (reported through the error callback of nc's options) */

static atomic_int gate_open;

static void gated_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)sub; (void)msg;
    long long dl = now_ms() + 60000;
    while (!atomic_load(&gate_open) && now_ms() < dl) sleep_ms(2);
}

static void test_pending_limits(nats_connection *nc, nats_connection *pub) {
    int64_t lm = 0, lb = 0, pm = -1, pb = -1;
    nats_subscription *s = NULL;

    atomic_store(&gate_open, 0);
    EXPECT_OK(nats_subscribe(nc, "core.slow", gated_cb, NULL, &s));
    /* Defaults. */
    EXPECT_OK(nats_subscription_pending_limits(s, &lm, &lb));
    EXPECT(lm == NATS_DEFAULT_PENDING_MSGS && lb == NATS_DEFAULT_PENDING_BYTES);
    EXPECT_OK(nats_subscription_pending_limits(s, NULL, NULL));
    EXPECT_STATUS(nats_subscription_pending_limits(NULL, &lm, &lb), NATS_ERR_NULL_ARGUMENT);
    /* Validation: 0 is refused, negative means none. */
    EXPECT_STATUS(nats_subscription_set_pending_limits(s, 0, 100), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_subscription_set_pending_limits(s, 100, 0), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_subscription_set_pending_limits(NULL, 10, 10), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_subscription_pending_limits(s, &lm, &lb));
    EXPECT(lm == NATS_DEFAULT_PENDING_MSGS && lb == NATS_DEFAULT_PENDING_BYTES); /* unchanged by failures */
    EXPECT_OK(nats_subscription_set_pending_limits(s, -1, -1));
    EXPECT_OK(nats_subscription_pending_limits(s, &lm, &lb));
    EXPECT(lm == -1 && lb == -1);
    EXPECT_OK(nats_subscription_set_pending_limits(s, 10, -1));
    lm = lb = 0;
    EXPECT_OK(nats_subscription_pending_limits(s, &lm, &lb));
    EXPECT(lm == 10 && lb == -1);
    EXPECT_OK(nats_connection_flush(nc, 5000));

    /* 100 messages of 5 bytes to a blocked callback: 10 pending (one in the callback), 90
     * dropped, one slow-consumer error naming the subscription. */
    for (int i = 0; i < 100; i++) EXPECT_OK(nats_publish(pub, "core.slow", "12345", 5));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    WAIT_FOR(nats_subscription_dropped(s) == 90, LIMIT_MS);
    EXPECT(nats_subscription_dropped(s) == 90);
    EXPECT_OK(nats_subscription_pending(s, &pm, &pb));
    EXPECT(pm == 10 && pb == 50);
    EXPECT_OK(nats_subscription_pending(s, NULL, NULL));
    EXPECT_STATUS(nats_subscription_pending(NULL, &pm, &pb), NATS_ERR_NULL_ARGUMENT);
    EXPECT(nats_subscription_delivered(s) == 0);
    EXPECT(nats_subscription_is_valid(s));
    WAIT_FOR(atomic_load(&ev_main.slow_consumer_errors) >= 1, LIMIT_MS);
    sleep_ms(100);
    EXPECT(atomic_load(&ev_main.slow_consumer_errors) == 1); /* once per episode */
    pthread_mutex_lock(&ev_main.mu);
    EXPECT(ev_main.slow_sub == s);
    EXPECT(ev_main.conn_seen == nc);
    pthread_mutex_unlock(&ev_main.mu);

    /* Released: the 10 are delivered, nothing pending, the high-water mark stays. */
    atomic_store(&gate_open, 1);
    WAIT_FOR(nats_subscription_delivered(s) == 10, LIMIT_MS);
    EXPECT(nats_subscription_delivered(s) == 10);
    WAIT_FOR((nats_subscription_pending(s, &pm, &pb), pm == 0), LIMIT_MS);
    EXPECT_OK(nats_subscription_pending(s, &pm, &pb));
    EXPECT(pm == 0 && pb == 0);
    pm = pb = 0;
    EXPECT_OK(nats_subscription_max_pending(s, &pm, &pb));
    EXPECT(pm == 10 && pb == 50);
    EXPECT_STATUS(nats_subscription_max_pending(NULL, &pm, &pb), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_subscription_max_pending(s, NULL, NULL));

    /* A new episode is reported again: blocked again, 30 more: 10 kept, 20 dropped. */
    atomic_store(&gate_open, 0);
    for (int i = 0; i < 30; i++) EXPECT_OK(nats_publish(pub, "core.slow", "x", 1));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    WAIT_FOR(nats_subscription_dropped(s) == 110, LIMIT_MS);
    EXPECT(nats_subscription_dropped(s) == 110);
    WAIT_FOR(atomic_load(&ev_main.slow_consumer_errors) >= 2, LIMIT_MS);
    EXPECT(atomic_load(&ev_main.slow_consumer_errors) == 2);
    atomic_store(&gate_open, 1);
    WAIT_FOR(nats_subscription_delivered(s) == 20, LIMIT_MS);
    EXPECT(nats_subscription_delivered(s) == 20);
    EXPECT(nats_subscription_dropped(NULL) == 0 && nats_subscription_delivered(NULL) == 0);
    EXPECT(!nats_subscription_is_valid(NULL));
    nats_subscription_free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics: exact counts for a known sequence */

static void echo_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)sub;
    EXPECT_OK(nats_msg_respond((nats_connection *)ud, msg, nats_msg_data(msg), nats_msg_data_len(msg)));
}

static atomic_int st_count;

static void count_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)sub; (void)msg;
    atomic_fetch_add(&st_count, 1);
}

static void test_stats(const char *url) {
    nats_connection *a = connect_plain(url), *b = connect_plain(url);
    nats_subscription *s = NULL, *es = NULL;
    nats_statistics sa, sb;
    static char data[250];
    uint64_t bytes = 0;
    char subj[32];

    if (!a || !b) { nats_connection_free(a); nats_connection_free(b); return; }
    memset(data, 1, sizeof data);
    memset(&sa, 0xff, sizeof sa);
    EXPECT_OK(nats_connection_stats(a, &sa));
    EXPECT(sa.in_msgs == 0 && sa.in_bytes == 0 && sa.out_msgs == 0 && sa.out_bytes == 0 && sa.reconnects == 0);
    EXPECT_STATUS(nats_connection_stats(NULL, &sa), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_connection_stats(a, NULL), NATS_ERR_NULL_ARGUMENT);

    EXPECT_OK(nats_subscribe(b, "core.st.>", count_cb, NULL, &s));
    EXPECT_OK(nats_subscribe(b, "core.svc.echo", echo_cb, b, &es));
    EXPECT_OK(nats_connection_flush(b, 5000));
    /* 250 publishes of 0..249 bytes, one message with headers (5 payload bytes), 10 requests
     * of 3 bytes answered with 3 bytes. */
    for (int i = 0; i < 250; i++) {
        snprintf(subj, sizeof subj, "core.st.%d", i);
        EXPECT_STATUS(nats_publish(a, subj, data, (size_t)i), NATS_OK);
        bytes += (uint64_t)i;
    }
    nats_msg *hm = NULL;
    EXPECT_OK(nats_msg_new("core.st.hdr", NULL, "12345", 5, &hm));
    EXPECT_OK(nats_msg_header_set(hm, "K", "V"));
    EXPECT_OK(nats_publish_msg(a, hm));
    nats_msg_free(hm);
    bytes += 5;
    int replies = 0;
    for (int i = 0; i < 10; i++) {
        nats_msg *r = NULL;
        if (nats_request(a, "core.svc.echo", "abc", 3, 5000, &r) == NATS_OK && data_is(r, "abc")) replies++;
        nats_msg_free(r);
    }
    EXPECT(replies == 10);
    EXPECT_OK(nats_connection_flush(a, 5000));
    WAIT_FOR(atomic_load(&st_count) == 251, LIMIT_MS);
    EXPECT(atomic_load(&st_count) == 251);
    EXPECT_OK(nats_connection_stats(a, &sa));
    EXPECT(sa.out_msgs == 251 + 10 && sa.out_bytes == bytes + 30);
    EXPECT(sa.in_msgs == 10 && sa.in_bytes == 30); /* the replies */
    EXPECT(sa.reconnects == 0);
    WAIT_FOR((nats_connection_stats(b, &sb), sb.in_msgs == 261), LIMIT_MS);
    EXPECT_OK(nats_connection_stats(b, &sb));
    EXPECT(sb.in_msgs == 261 && sb.in_bytes == bytes + 30);
    EXPECT(sb.out_msgs == 10 && sb.out_bytes == 30); /* the replies sent */
    EXPECT(sb.reconnects == 0);
    nats_subscription_free(s);
    nats_subscription_free(es);
    nats_connection_free(a);
    nats_connection_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* Async requests */

enum { ASYNC_N = 1000 };

struct async_slot {
    int index;
    atomic_int calls;
    atomic_int matched;
    nats_status status;
    bool reply_null;
    bool had_error_text;
};

static struct async_slot slots[ASYNC_N + 1];
static atomic_int async_done;

static void on_reply(void *ud, nats_status status, const nats_msg *reply) {
    struct async_slot *slot = ud;
    char want[32];
    slot->status = status;
    slot->reply_null = reply == NULL;
    if (status == NATS_OK) {
        snprintf(want, sizeof want, "REQ-%d", slot->index);
        if (data_is(reply, want) && starts_with(nats_msg_subject(reply), "_CORE_INBOX.")) atomic_store(&slot->matched, 1);
    } else {
        slot->had_error_text = strlen(nats_last_error()) > 0;
    }
    atomic_fetch_add(&slot->calls, 1);
    atomic_fetch_add(&async_done, 1);
}

static void test_async_requests(nats_connection *nc, nats_connection *pub) {
    nats_subscription *subs[4] = {NULL};
    char buf[32];

    for (int i = 0; i < 4; i++) EXPECT_OK(nats_queue_subscribe(pub, "core.svc.upper", "q", upper_cb, pub, &subs[i]));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    for (int i = 0; i <= ASYNC_N; i++) slots[i].index = i;
    int issued = 0;
    for (int i = 0; i < ASYNC_N; i++) {
        snprintf(buf, sizeof buf, "req-%d", i);
        if (nats_request_async(nc, "core.svc.upper", buf, strlen(buf), 60000, on_reply, &slots[i]) == NATS_OK) issued++;
    }
    EXPECT(issued == ASYNC_N);
    WAIT_FOR(atomic_load(&async_done) >= ASYNC_N, 60000);
    EXPECT(atomic_load(&async_done) == ASYNC_N);
    int matched = 0, once = 0;
    for (int i = 0; i < ASYNC_N; i++) {
        if (atomic_load(&slots[i].matched) && slots[i].status == NATS_OK && !slots[i].reply_null) matched++;
        if (atomic_load(&slots[i].calls) == 1) once++;
    }
    EXPECT(matched == ASYNC_N);
    EXPECT(once == ASYNC_N);

    /* No responders: reported through the callback, reply NULL, with an explanation. */
    struct async_slot *nobody = &slots[ASYNC_N];
    EXPECT_OK(nats_request_async(nc, "core.svc.nobody", NULL, 0, 5000, on_reply, nobody));
    WAIT_FOR(atomic_load(&nobody->calls) == 1, LIMIT_MS);
    EXPECT(atomic_load(&nobody->calls) == 1);
    EXPECT(nobody->status == NATS_ERR_NO_RESPONDERS && nobody->reply_null && nobody->had_error_text);

    /* Errors returned directly (the callback is then never called). */
    EXPECT_STATUS(nats_request_async(nc, "core.svc.upper", NULL, 0, 0, NULL, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_request_async(NULL, "core.svc.upper", NULL, 0, 0, on_reply, nobody), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_request_async(nc, "a.*", NULL, 0, 0, on_reply, nobody), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_request_async(nc, NULL, NULL, 0, 0, on_reply, nobody), NATS_ERR_NULL_ARGUMENT);
    sleep_ms(100);
    EXPECT(atomic_load(&nobody->calls) == 1 && atomic_load(&async_done) == ASYNC_N + 1);
    for (int i = 0; i < 4; i++) nats_subscription_free(subs[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Server info, RTT, inbox, max payload, buffered */

static void test_server_info(nats_connection *nc, nats_connection *pub, const char *url, const char *host, int port) {
    nats_server_info *info = NULL;
    int sentinel_target;
    void *sentinel = &sentinel_target;

    EXPECT_STATUS(nats_connection_server_info(NULL, &info), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_connection_server_info(nc, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_connection_server_info(nc, &info));
    if (!info) return;
    const char *id = nats_server_info_id(info);
    EXPECT(id && strlen(id) > 0 && id[0] == 'N');
    EXPECT(str_is(nats_server_info_name(info), id)); /* unnamed server: its name is its id */
    EXPECT(starts_with(nats_server_info_version(info), "2."));
    EXPECT(str_is(nats_server_info_host(info), host) || str_is(nats_server_info_host(info), "0.0.0.0"));
    EXPECT(nats_server_info_port(info) == port);
    EXPECT(str_is(nats_server_info_connected_url(info), url));
    EXPECT(str_is(nats_server_info_client_ip(info), "127.0.0.1"));
    EXPECT(str_is(nats_server_info_cluster(info), ""));
    EXPECT(nats_server_info_max_payload(info) == 1024 * 1024);
    EXPECT(nats_server_info_max_payload(info) == nats_connection_max_payload(nc));
    EXPECT(nats_server_info_client_id(info) > 0);
    EXPECT(!nats_server_info_jetstream(info));
    EXPECT(nats_server_info_headers(info));
    EXPECT(!nats_server_info_lame_duck(info));
    const char *const *urls = (const char *const *)sentinel;
    size_t n = 99;
    EXPECT_OK(nats_server_info_discovered_servers(info, &urls, &n));
    EXPECT(n == 0 && urls == NULL);
    EXPECT_OK(nats_server_info_servers(info, &urls, &n));
    EXPECT(n == 1 && urls != NULL && str_is(urls[0], url));
    EXPECT_STATUS(nats_server_info_servers(NULL, &urls, &n), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_server_info_servers(info, NULL, &n), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_server_info_discovered_servers(NULL, &urls, &n), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_server_info_discovered_servers(info, &urls, NULL), NATS_ERR_NULL_ARGUMENT);

    /* Another snapshot of the same connection: same client id; another connection: another. */
    nats_server_info *again = NULL, *other = NULL;
    EXPECT_OK(nats_connection_server_info(nc, &again));
    EXPECT_OK(nats_connection_server_info(pub, &other));
    EXPECT(nats_server_info_client_id(again) == nats_server_info_client_id(info));
    EXPECT(nats_server_info_client_id(other) != nats_server_info_client_id(info));
    EXPECT(str_is(nats_server_info_id(other), id));
    nats_server_info_free(again);
    nats_server_info_free(other);
    nats_server_info_free(info);

    /* NULL snapshot. */
    nats_server_info_free(NULL);
    EXPECT(str_is(nats_server_info_id(NULL), "") && str_is(nats_server_info_name(NULL), ""));
    EXPECT(str_is(nats_server_info_version(NULL), "") && str_is(nats_server_info_host(NULL), ""));
    EXPECT(str_is(nats_server_info_connected_url(NULL), "") && str_is(nats_server_info_client_ip(NULL), ""));
    EXPECT(str_is(nats_server_info_cluster(NULL), ""));
    EXPECT(nats_server_info_port(NULL) == 0 && nats_server_info_max_payload(NULL) == 0);
    EXPECT(nats_server_info_client_id(NULL) == 0);
    EXPECT(!nats_server_info_jetstream(NULL) && !nats_server_info_headers(NULL) && !nats_server_info_lame_duck(NULL));

    /* RTT. */
    uint64_t rtt = 0;
    EXPECT_OK(nats_connection_rtt(nc, &rtt));
    EXPECT(rtt > 0 && rtt < 10 * 1000 * 1000);
    EXPECT_STATUS(nats_connection_rtt(nc, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_connection_rtt(NULL, &rtt), NATS_ERR_NULL_ARGUMENT);

    /* Inboxes: unique, with the configured prefix. */
    char *a = NULL, *b = NULL, *c = NULL;
    EXPECT_OK(nats_connection_new_inbox(nc, &a));
    EXPECT_OK(nats_connection_new_inbox(nc, &b));
    EXPECT_OK(nats_connection_new_inbox(pub, &c));
    EXPECT(starts_with(a, "_CORE_INBOX.") && strlen(a) > strlen("_CORE_INBOX."));
    EXPECT(starts_with(b, "_CORE_INBOX.") && a && b && strcmp(a, b) != 0);
    EXPECT(starts_with(c, "_INBOX."));
    EXPECT_STATUS(nats_connection_new_inbox(nc, NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_connection_new_inbox(NULL, &a), NATS_ERR_NULL_ARGUMENT);
    nats_string_free(a);
    nats_string_free(b);
    nats_string_free(c);
    nats_string_free(NULL);

    /* Max payload and buffered bytes. */
    EXPECT(nats_connection_max_payload(nc) == 1024 * 1024);
    EXPECT(nats_connection_max_payload(NULL) == 0);
    for (int i = 0; i < 100; i++) EXPECT_STATUS(nats_publish(nc, "core.buffered", "0123456789", 10), NATS_OK);
    EXPECT_OK(nats_connection_flush(nc, 5000));
    WAIT_FOR(nats_connection_buffered(nc) == 0, LIMIT_MS);
    EXPECT(nats_connection_buffered(nc) == 0);
    EXPECT(nats_connection_buffered(NULL) == 0);
    EXPECT(!nats_connection_is_closed(nc));
    EXPECT(nats_connection_is_closed(NULL));
}

/* ------------------------------------------------------------------------------------------ */
/* Forced reconnect */

static void test_reconnect(nats_connection *nc, nats_connection *pub, const char *url) {
    nats_subscription *s = NULL;
    nats_statistics st;

    EXPECT_OK(nats_subscribe_sync(nc, "core.rc", &s));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    EXPECT(atomic_load(&ev_main.reconnected) == 0 && atomic_load(&ev_main.disconnected) == 0);
    int delays_before = atomic_load(&ev_main.delay_calls);
    EXPECT_STATUS(nats_connection_reconnect(NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_connection_reconnect(nc));
    WAIT_FOR(atomic_load(&ev_main.reconnected) >= 1, LIMIT_MS);
    EXPECT(atomic_load(&ev_main.reconnected) == 1);
    EXPECT(atomic_load(&ev_main.disconnected) == 1);
    EXPECT(ev_main.status_in_reconnected == NATS_CONN_STATUS_CONNECTED);
    EXPECT(ev_main.flush_in_reconnected == NATS_OK);
    /* The delay callback decided the wait before the attempt (the first: attempts 1). */
    EXPECT(atomic_load(&ev_main.delay_calls) > delays_before);
    EXPECT(atomic_load(&ev_main.last_attempts) == 1);
    EXPECT(nats_connection_status(nc) == NATS_CONN_STATUS_CONNECTED);
    EXPECT_OK(nats_connection_stats(nc, &st));
    EXPECT(st.reconnects == 1);
    /* The subscription was restored. */
    EXPECT_OK(nats_connection_flush(nc, 5000));
    EXPECT_OK(nats_publish(pub, "core.rc", "back", 4));
    nats_msg *m = NULL;
    EXPECT_OK(nats_subscription_next_msg(s, 5000, &m));
    EXPECT(data_is(m, "back"));
    nats_msg_free(m);
    nats_subscription_free(s);
    nats_server_info *info = NULL;
    EXPECT_OK(nats_connection_server_info(nc, &info));
    EXPECT(str_is(nats_server_info_connected_url(info), url));
    nats_server_info_free(info);
}

/* ------------------------------------------------------------------------------------------ */
/* A connection that cannot reach its server (retry_on_initial_connect): the reconnect buffer,
 * its limit, the delay callback, and publishes lost at close reported to the error callback. */

static void test_offline_buffer(void) {
    nats_options *o = NULL;
    nats_connection *c = NULL;
    const char *dead[] = {"nats://127.0.0.1:1"};

    ev_init(&ev_off);
    EXPECT_OK(nats_options_new(&o));
    EXPECT_OK(nats_options_set_servers(o, dead, 1));
    EXPECT_OK(nats_options_set_retry_on_initial_connect(o, true));
    EXPECT_OK(nats_options_set_sender_capacity(o, 1));
    EXPECT_OK(nats_options_set_reconnect_buffer_size(o, 1000));
    set_all_events(o, &ev_off);
    EXPECT_OK(nats_connect(o, &c));
    nats_options_free(o);
    if (!c) return;
    EXPECT(nats_connection_status(c) == NATS_CONN_STATUS_CONNECTING);
    EXPECT(!nats_connection_is_closed(c));
    EXPECT(nats_connection_max_payload(c) == 0); /* documented: 0 before the first connection */

    /* The delay callback is asked before each attempt, with a growing attempt count. */
    WAIT_FOR(atomic_load(&ev_off.delay_calls) >= 3, LIMIT_MS);
    EXPECT(atomic_load(&ev_off.delay_calls) >= 3);
    EXPECT(atomic_load(&ev_off.max_attempts) >= 3);
    EXPECT(atomic_load(&ev_off.connected) == 0);

    /* 100-byte payloads on an 8-byte subject: 108 bytes each; the 1000-byte buffer fills. */
    static char payload[100];
    nats_status st = NATS_OK;
    int accepted = 0;
    while (accepted < 200 && (st = nats_publish(c, "core.buf", payload, sizeof payload)) == NATS_OK) accepted++;
    EXPECT_STATUS(st, NATS_ERR_BUFFER_FULL);
    EXPECT(accepted >= 9 && accepted < 200);
    uint64_t buffered = nats_connection_buffered(c);
    EXPECT(buffered <= 1000 && buffered + 108 > 1000);
    EXPECT_STATUS(nats_publish(c, "core.buf", payload, sizeof payload), NATS_ERR_BUFFER_FULL);
    EXPECT(strlen(nats_last_error()) > 0);

    /* Closing drops the buffered publishes, reported to the error callback. */
    nats_connection_close(c);
    EXPECT(nats_connection_status(c) == NATS_CONN_STATUS_CLOSED);
    EXPECT(nats_connection_is_closed(c));
    EXPECT_STATUS(nats_publish(c, "core.buf", "x", 1), NATS_ERR_CONNECTION_CLOSED);
    WAIT_FOR(atomic_load(&ev_off.closed) == 1, LIMIT_MS);
    EXPECT(atomic_load(&ev_off.closed) == 1);
    /* Documented: NATS_ERR_CONNECTION_CLOSED for publishes lost at close, and the closed
     * callback is the connection's last one, so the error must have come before it. */
    EXPECT(atomic_load(&ev_off.closed_errors) >= 1);
    EXPECT(ev_off.status_in_closed == NATS_CONN_STATUS_CLOSED);
    nats_connection_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Connection drain */

static void test_connection_drain(nats_connection *nc, nats_connection *pub) {
    static atomic_int counts[2];
    nats_subscription *subs[2] = {NULL, NULL}, *watcher = NULL;
    char subj[32];

    for (int i = 0; i < 2; i++) {
        snprintf(subj, sizeof subj, "core.cd.%d", i);
        EXPECT_OK(nats_subscribe(nc, subj, slow_count_cb, &counts[i], &subs[i]));
    }
    EXPECT_OK(nats_subscribe_sync(pub, "core.cd.out", &watcher));
    EXPECT_OK(nats_connection_flush(pub, 5000));
    EXPECT_OK(nats_connection_flush(nc, 5000));
    for (int i = 0; i < 1000; i++) {
        snprintf(subj, sizeof subj, "core.cd.%d", i % 2);
        EXPECT_STATUS(nats_publish(pub, subj, &i, sizeof i), NATS_OK);
    }
    EXPECT_OK(nats_connection_flush(pub, 5000));
    /* Publishes of our own, which must reach the server before the close. */
    for (int i = 0; i < 100; i++) EXPECT_STATUS(nats_publish(nc, "core.cd.out", "bye", 3), NATS_OK);
    EXPECT(atomic_load(&counts[0]) + atomic_load(&counts[1]) < 1000);
    EXPECT(atomic_load(&ev_main.closed) == 0);
    EXPECT_STATUS(nats_connection_drain(NULL, 1000), NATS_ERR_NULL_ARGUMENT);
    EXPECT_OK(nats_connection_drain(nc, 60000));
    /* Documented: every message the server sent before the drain reached its callback. */
    EXPECT(atomic_load(&counts[0]) == 500 && atomic_load(&counts[1]) == 500);
    EXPECT(nats_connection_status(nc) == NATS_CONN_STATUS_CLOSED);
    EXPECT(nats_connection_is_closed(nc));
    WAIT_FOR(atomic_load(&ev_main.closed) == 1, LIMIT_MS);
    EXPECT(atomic_load(&ev_main.closed) == 1);
    EXPECT(ev_main.status_in_closed == NATS_CONN_STATUS_CLOSED);
    int got = 0;
    for (int i = 0; i < 100; i++) {
        nats_msg *m = NULL;
        if (nats_subscription_next_msg(watcher, 5000, &m) == NATS_OK && data_is(m, "bye")) got++;
        nats_msg_free(m);
    }
    EXPECT(got == 100);
    nats_msg *m = NULL;
    EXPECT_STATUS(nats_subscription_next_msg(watcher, 200, &m), NATS_ERR_TIMEOUT);
    /* Everything on a closed connection fails cleanly. */
    EXPECT_STATUS(nats_connection_drain(nc, 1000), NATS_ERR_CONNECTION_CLOSED);
    uint64_t rtt = 0;
    EXPECT_STATUS(nats_connection_rtt(nc, &rtt), NATS_ERR_CONNECTION_CLOSED);
    EXPECT_STATUS(nats_connection_reconnect(nc), NATS_ERR_CONNECTION_CLOSED);
    nats_server_info *info = NULL;
    EXPECT_STATUS(nats_connection_server_info(nc, &info), NATS_ERR_CONNECTION_CLOSED);
    EXPECT(info == NULL);
    EXPECT_STATUS(nats_publish(nc, "core.cd.out", "late", 4), NATS_ERR_CONNECTION_CLOSED);
    EXPECT_STATUS(nats_request_async(nc, "core.svc.upper", NULL, 0, 0, on_reply, &slots[0]), NATS_ERR_CONNECTION_CLOSED);
    for (int i = 0; i < 2; i++) {
        EXPECT(!nats_subscription_is_valid(subs[i]));
        nats_subscription_free(subs[i]);
    }
    nats_subscription_free(watcher);
}

/* ------------------------------------------------------------------------------------------ */

/* Services: an endpoint answers and counts, an error response carries the standard headers,
 * discovery answers, and a callback may free its own service. */
typedef struct {
    nats_service *svc;
    atomic_int handled, freed, free_inside;
} svc_state;

static void svc_echo(void *ud, nats_service_request *req) {
    svc_state *st = ud;
    const nats_msg *m = nats_service_request_msg(req);
    if (data_is(m, "fail")) {
        EXPECT_OK(nats_service_respond_error(req, 503, "busy", "later", 5));
    } else if (data_is(m, "quit")) {
        EXPECT_OK(nats_service_respond(req, "bye", 3));
        nats_service_free(st->svc); /* from its own callback */
        atomic_store(&st->free_inside, 1);
    } else {
        EXPECT_OK(nats_service_respond(req, nats_msg_data(m), nats_msg_data_len(m)));
    }
    atomic_fetch_add(&st->handled, 1);
}

static void svc_freed(void *ud) {
    atomic_fetch_add(&((svc_state *)ud)->freed, 1);
}

static void test_services(nats_connection *nc, nats_connection *pub) {
    static svc_state st;
    nats_service_config cfg = {0};
    nats_service_endpoint_config ep = {0};
    nats_msg *r = NULL;
    const char *hdr = NULL;
    cfg.name = "c-core";
    cfg.version = "0.1.0";
    EXPECT_STATUS(nats_service_add(nc, NULL, &st.svc), NATS_ERR_NULL_ARGUMENT);
    cfg.version = "0.1";
    EXPECT_STATUS(nats_service_add(nc, &cfg, &st.svc), NATS_ERR_INVALID_ARGUMENT);
    EXPECT(st.svc == NULL);
    cfg.version = "0.1.0";
    EXPECT_OK(nats_service_add(nc, &cfg, &st.svc));
    ep.name = "echo";
    ep.subject = "core.svc.echo";
    EXPECT_OK(nats_service_add_endpoint(st.svc, NULL, &ep, svc_echo, &st, svc_freed));
    EXPECT_OK(nats_connection_flush(nc, 5000));

    EXPECT_OK(nats_request(pub, "core.svc.echo", "hi", 2, 5000, &r));
    EXPECT(r && data_is(r, "hi"));
    nats_msg_free(r);
    r = NULL;
    EXPECT_OK(nats_request(pub, "core.svc.echo", "fail", 4, 5000, &r));
    EXPECT(r && data_is(r, "later"));
    EXPECT_OK(nats_msg_header_get(r, "Nats-Service-Error", &hdr));
    EXPECT(hdr && strcmp(hdr, "busy") == 0);
    EXPECT_OK(nats_msg_header_get(r, "Nats-Service-Error-Code", &hdr));
    EXPECT(hdr && strcmp(hdr, "503") == 0);
    nats_msg_free(r);
    r = NULL;

    char subject[128];
    snprintf(subject, sizeof subject, "$SRV.INFO.c-core.%s", nats_service_id(st.svc));
    EXPECT_OK(nats_request(pub, subject, NULL, 0, 5000, &r));
    EXPECT(r && strstr((const char *)nats_msg_data(r), "\"type\":\"io.nats.micro.v1.info_response\"") != NULL);
    EXPECT(r && strstr((const char *)nats_msg_data(r), "\"subject\":\"core.svc.echo\"") != NULL);
    nats_msg_free(r);
    r = NULL;

    /* A request is counted once its handler returned, a moment after its reply went out. */
    nats_service_statistics *stats = NULL;
    for (long long dl = now_ms() + LIMIT_MS;; sleep_ms(5)) {
        EXPECT_OK(nats_service_stats(st.svc, &stats));
        if (!stats || stats->endpoints[0].requests >= 2 || now_ms() > dl) break;
        nats_service_statistics_free(stats);
        stats = NULL;
    }
    EXPECT(stats && stats->endpoints_count == 1 && stats->endpoints[0].requests == 2 &&
           stats->endpoints[0].errors == 1 && strcmp(stats->endpoints[0].last_error, "503:busy") == 0);
    nats_service_statistics_free(stats);

    /* The callback frees its own service; the endpoint's user_data is released once after. */
    EXPECT_OK(nats_request(pub, "core.svc.echo", "quit", 4, 5000, &r));
    EXPECT(r && data_is(r, "bye"));
    nats_msg_free(r);
    WAIT_FOR(atomic_load(&st.freed) == 1, LIMIT_MS);
    EXPECT(atomic_load(&st.free_inside) == 1 && atomic_load(&st.freed) == 1 && atomic_load(&st.handled) == 3);
    r = NULL;
    EXPECT_STATUS(nats_request(pub, "core.svc.echo", "hi", 2, 2000, &r), NATS_ERR_NO_RESPONDERS);
    EXPECT(r == NULL);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    char host[128] = "";
    const char *colon = strrchr(url, ':');
    const char *start = strstr(url, "://");
    int port = colon ? atoi(colon + 1) : 4222;
    start = start ? start + 3 : url;
    if (colon && colon > start && (size_t)(colon - start) < sizeof host) memcpy(host, start, (size_t)(colon - start));

    ev_init(&ev_main);
    test_setters();

    nats_connection *pub = connect_plain(url);
    nats_options *o = NULL;
    nats_connection *nc = NULL;
    const char *servers[] = {url};
    EXPECT_OK(nats_options_new(&o));
    EXPECT_OK(nats_options_set_servers(o, servers, 1));
    EXPECT_OK(nats_options_set_name(o, "c-core-test"));
    EXPECT_OK(nats_options_set_inbox_prefix(o, "_CORE_INBOX"));
    EXPECT_OK(nats_options_set_reconnect_wait_ms(o, 100));
    EXPECT_OK(nats_options_set_reconnect_jitter_ms(o, 0, 0));
    EXPECT_OK(nats_options_set_max_pings_out(o, 5));
    EXPECT_OK(nats_options_set_reconnect_buffer_size(o, 4 << 20));
    EXPECT_OK(nats_options_set_no_randomize(o, true));
    set_all_events(o, &ev_main);
    EXPECT_OK(nats_connect(o, &nc));
    nats_options_free(o);
    if (!nc || !pub) {
        nats_connection_free(nc);
        nats_connection_free(pub);
        printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed) + 1);
        return 1;
    }
    /* The connected callback fired once, with our user_data and handle, and could call the API. */
    WAIT_FOR(atomic_load(&ev_main.connected) == 1, LIMIT_MS);
    EXPECT(atomic_load(&ev_main.connected) == 1);
    EXPECT(ev_main.status_in_connected == NATS_CONN_STATUS_CONNECTED);
    pthread_mutex_lock(&ev_main.mu);
    EXPECT(ev_main.conn_seen == nc);
    pthread_mutex_unlock(&ev_main.mu);

    test_local_address_and_websocket(pub, port, argc > 2 ? argv[2] : NULL);
    test_headers(nc, pub);
    test_sync_subscriptions(nc, pub);
    test_auto_unsubscribe(nc, pub);
    test_subscription_drain(nc, pub);
    test_pending_limits(nc, pub);
    test_stats(url);
    test_async_requests(nc, pub);
    test_services(nc, pub);
    test_server_info(nc, pub, url, host, port);
    test_reconnect(nc, pub, url);
    test_offline_buffer();
    test_connection_drain(nc, pub);

    /* The whole life of nc, in order; no lame duck or discovered servers on a lone server. */
    sleep_ms(100);
    pthread_mutex_lock(&ev_main.mu);
    EXPECT(strcmp(ev_main.order, "CDRX") == 0);
    if (strcmp(ev_main.order, "CDRX") != 0) fprintf(stderr, "events: %s\n", ev_main.order);
    EXPECT(ev_main.conn_seen == nc);
    pthread_mutex_unlock(&ev_main.mu);
    EXPECT(atomic_load(&ev_main.connected) == 1 && atomic_load(&ev_main.closed) == 1);
    EXPECT(atomic_load(&ev_main.lame_duck) == 0 && atomic_load(&ev_main.discovered) == 0);
    EXPECT(atomic_load(&ev_main.slow_consumer_errors) == 2);
    EXPECT(atomic_load(&ev_main.bad_user_data) == 0);
    EXPECT(ev_main.first_error == NATS_ERR_SLOW_CONSUMER);

    nats_connection_free(nc);
    nats_connection_free(pub);
    pthread_mutex_destroy(&ev_main.mu);
    pthread_mutex_destroy(&ev_off.mu);

    printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) ? 1 : 0;
}
