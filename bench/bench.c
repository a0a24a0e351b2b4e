/* bench <client-label> <url>: the benchmark scenarios, written once against a thin client
 * layer that is compiled either for nats-ffi (-DCLIENT_OURS) or for nats.c (-DCLIENT_NATSC),
 * so both clients run exactly the same loops. Prints RESULT lines (see bench_common.h). */
#include "bench_common.h"

/* Where callbacks run for connections made from here on: 0 the client's default (a thread
 * per subscription in both clients), 1 a shared delivery pool, 2 (nats-ffi only) a
 * dispatcher served by one application thread. */
static int delivery;
/* Pool threads for both clients in mode 1 (nats-ffi's default; nats.c's default is 1). */
enum { POOL_THREADS = 4 };

#if defined(CLIENT_OURS)
/* ------------------------------------------------------------------------ nats-ffi layer */
#include <nats_ffi.h>
#include <unistd.h>
typedef nats_connection conn_t;
typedef nats_subscription sub_t;
#define DIE(what)                                                                               \
    do {                                                                                        \
        fprintf(stderr, "%s failed: %s\n", what, nats_last_error());                           \
        exit(1);                                                                                \
    } while (0)

static nats_dispatcher *dispatcher;
static atomic_int dispatching;
/* The application thread of mode 2: waits for callbacks and runs them. */
static void *dispatch_loop(void *arg) {
    (void)arg;
    while (atomic_load(&dispatching))
        if (nats_dispatcher_wait(dispatcher, 100) == NATS_OK) nats_dispatcher_dispatch(dispatcher, SIZE_MAX, NULL);
    return NULL;
}
static int cl_supports_dispatcher(void) { return 1; }
static void cl_start_dispatcher(void) {
    static pthread_t th;
    if (atomic_exchange(&dispatching, 1)) return;
    if (nats_dispatcher_new(&dispatcher)) DIE("dispatcher");
    pthread_create(&th, NULL, dispatch_loop, NULL);
}
static conn_t *cl_connect(const char *url, int fastest) {
    (void)fastest; /* nats-ffi has no separate low-latency mode: every publish is sent at once */
    conn_t *c = NULL;
    nats_options *o = NULL;
    if (nats_options_new(&o) || nats_options_set_servers(o, &url, 1)) DIE("options");
    if (delivery == 1 && nats_options_use_shared_delivery(o, true)) DIE("shared delivery");
    if (delivery == 2 && nats_options_set_dispatcher(o, dispatcher)) DIE("dispatcher");
    if (nats_connect(o, &c)) DIE("connect");
    nats_options_free(o);
    return c;
}
static void cl_close(conn_t *c) { nats_connection_free(c); }
static void cl_publish(conn_t *c, const char *subj, const void *d, size_t n) {
    if (nats_publish(c, subj, d, n)) DIE("publish");
}
static void cl_flush(conn_t *c) {
    if (nats_connection_flush(c, 60000)) DIE("flush");
}
typedef void (*count_fn)(void *);
struct cb_ctx { count_fn f; void *arg; };
static void on_msg(void *ud, nats_subscription *s, const nats_msg *m) {
    (void)s; (void)m;
    struct cb_ctx *x = ud;
    x->f(x->arg);
}
static sub_t *cl_subscribe(conn_t *c, const char *subj, struct cb_ctx *x) {
    sub_t *s = NULL;
    if (nats_subscribe(c, subj, on_msg, x, &s)) DIE("subscribe");
    return s;
}
static void cl_sub_free(sub_t *s) { nats_subscription_free(s); }
static void on_req(void *ud, nats_subscription *s, const nats_msg *m) {
    (void)s;
    nats_msg_respond(ud, m, nats_msg_data(m), nats_msg_data_len(m));
}
static sub_t *cl_responder(conn_t *c, const char *subj) {
    sub_t *s = NULL;
    if (nats_subscribe(c, subj, on_req, c, &s)) DIE("subscribe");
    return s;
}
static int cl_request(conn_t *c, const char *subj, const void *d, size_t n) {
    nats_msg *r = NULL;
    nats_status st = nats_request(c, subj, d, n, 5000, &r);
    nats_msg_free(r);
    return st;
}
static uint64_t cl_out_msgs(conn_t *c) {
    nats_statistics s;
    nats_connection_stats(c, &s);
    return s.out_msgs;
}
/* JetStream */
typedef nats_jetstream js_t;
static atomic_long js_acked, js_failed;
static void on_ack(void *ud, nats_status st, const nats_pub_ack *a) {
    (void)ud; (void)a;
    if (st) atomic_fetch_add(&js_failed, 1); else atomic_fetch_add(&js_acked, 1);
}
static js_t *cl_js(conn_t *c) {
    js_t *js = NULL;
    if (nats_jetstream_new(c, NULL, &js)) DIE("jetstream");
    const char *subjects[] = {"bench.js.>"};
    nats_stream_config cfg;
    nats_stream_config_init(&cfg);
    cfg.name = "BENCH";
    cfg.subjects = subjects;
    cfg.subjects_count = 1;
    cfg.storage = NATS_STORAGE_MEMORY;
    nats_jetstream_stream_delete(js, "BENCH");
    if (nats_jetstream_stream_create(js, &cfg, NULL)) DIE("stream create");
    return js;
}
static void cl_js_free(js_t *js) { nats_jetstream_free(js); }
static void cl_js_pub_async(js_t *js, const char *subj, const void *d, size_t n) {
    if (nats_jetstream_publish_async(js, subj, d, n, NULL, on_ack, NULL)) DIE("publish async");
}
static void cl_js_complete(js_t *js) {
    if (nats_jetstream_publish_async_complete(js, 60000)) DIE("publish async complete");
}
static void cl_js_pub_sync(js_t *js, const char *subj, const void *d, size_t n) {
    if (nats_jetstream_publish(js, subj, d, n, NULL, NULL)) DIE("publish");
}

#elif defined(CLIENT_NATSC)
/* ------------------------------------------------------------------------- nats.c layer */
#include <nats/nats.h>
typedef natsConnection conn_t;
typedef natsSubscription sub_t;
#define CHECKC(call, what)                                                                      \
    do {                                                                                        \
        natsStatus s_ = (call);                                                                 \
        if (s_ != NATS_OK) {                                                                    \
            fprintf(stderr, "%s failed: %s\n", what, natsStatus_GetText(s_));                  \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

static conn_t *cl_connect(const char *url, int fastest) {
    natsOptions *o = NULL;
    conn_t *c = NULL;
    CHECKC(natsOptions_Create(&o), "options");
    CHECKC(natsOptions_SetURL(o, url), "url");
    if (fastest) CHECKC(natsOptions_SetSendAsap(o, true), "send asap");
    if (delivery == 1) CHECKC(natsOptions_UseGlobalMessageDelivery(o, true), "global delivery");
    CHECKC(natsConnection_Connect(&c, o), "connect");
    natsOptions_Destroy(o);
    return c;
}
static int cl_supports_dispatcher(void) { return 0; }
static void cl_start_dispatcher(void) {}
static void cl_close(conn_t *c) {
    natsConnection_Close(c);
    natsConnection_Destroy(c);
}
static void cl_publish(conn_t *c, const char *subj, const void *d, size_t n) {
    CHECKC(natsConnection_Publish(c, subj, d, (int)n), "publish");
}
static void cl_flush(conn_t *c) { CHECKC(natsConnection_FlushTimeout(c, 60000), "flush"); }
typedef void (*count_fn)(void *);
struct cb_ctx { count_fn f; void *arg; };
static void on_msg(natsConnection *nc, natsSubscription *s, natsMsg *m, void *ud) {
    (void)nc; (void)s;
    struct cb_ctx *x = ud;
    x->f(x->arg);
    natsMsg_Destroy(m);
}
static sub_t *cl_subscribe(conn_t *c, const char *subj, struct cb_ctx *x) {
    sub_t *s = NULL;
    CHECKC(natsConnection_Subscribe(&s, c, subj, on_msg, x), "subscribe");
    return s;
}
static void cl_sub_free(sub_t *s) {
    natsSubscription_Unsubscribe(s);
    natsSubscription_Destroy(s);
}
static void on_req(natsConnection *nc, natsSubscription *s, natsMsg *m, void *ud) {
    (void)s; (void)ud;
    natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
}
static sub_t *cl_responder(conn_t *c, const char *subj) {
    sub_t *s = NULL;
    CHECKC(natsConnection_Subscribe(&s, c, subj, on_req, NULL), "subscribe");
    return s;
}
static int cl_request(conn_t *c, const char *subj, const void *d, size_t n) {
    natsMsg *r = NULL;
    natsStatus st = natsConnection_Request(&r, c, subj, d, (int)n, 5000);
    natsMsg_Destroy(r);
    return st;
}
static uint64_t cl_out_msgs(conn_t *c) {
    natsStatistics *st = NULL;
    uint64_t out = 0;
    natsStatistics_Create(&st);
    natsConnection_GetStats(c, st);
    natsStatistics_GetCounts(st, NULL, NULL, &out, NULL, NULL);
    natsStatistics_Destroy(st);
    return out;
}
typedef jsCtx js_t;
static atomic_long js_acked, js_failed;
static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *cl) {
    (void)js; (void)pa; (void)cl;
    if (pae) atomic_fetch_add(&js_failed, 1); else atomic_fetch_add(&js_acked, 1);
    natsMsg_Destroy(m);
}
static js_t *cl_js(conn_t *c) {
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4000;
    o.PublishAsync.AckHandler = on_ack;
    js_t *js = NULL;
    CHECKC(natsConnection_JetStream(&js, c, &o), "jetstream");
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = {"bench.js.>"};
    cfg.Name = "BENCH";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_MemoryStorage;
    jsErrCode jerr = 0;
    js_DeleteStream(js, "BENCH", NULL, &jerr);
    CHECKC(js_AddStream(NULL, js, &cfg, NULL, &jerr), "stream create");
    return js;
}
static void cl_js_free(js_t *js) { jsCtx_Destroy(js); }
static void cl_js_pub_async(js_t *js, const char *subj, const void *d, size_t n) {
    CHECKC(js_PublishAsync(js, subj, d, (int)n, NULL), "publish async");
}
static void cl_js_complete(js_t *js) {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MaxWait = 60000;
    CHECKC(js_PublishAsyncComplete(js, &o), "publish async complete");
}
static void cl_js_pub_sync(js_t *js, const char *subj, const void *d, size_t n) {
    jsErrCode jerr = 0;
    CHECKC(js_Publish(NULL, js, subj, d, (int)n, NULL, &jerr), "publish");
}
#else
#error "define CLIENT_OURS or CLIENT_NATSC"
#endif

/* ------------------------------------------------------------------------------ scenarios */
static const char *label, *url;
static char payload[65536];

/* CPU time of the calling thread, seconds. */
static double thread_cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Publish-only: n messages, flush; rate includes the flush. Also keeps the CPU time the
 * publishing thread itself spent per message (the client's other threads not counted). */
static double pub_caller_ns;
static double bench_pub(size_t size) {
    long n = count_for(size, 2000000);
    conn_t *c = cl_connect(url, 0);
    uint64_t before = cl_out_msgs(c);
    double t = now_s(), cpu = thread_cpu_s();
    for (long i = 0; i < n; i++) cl_publish(c, "bench.pub", payload, size);
    cl_flush(c);
    double el = now_s() - t;
    pub_caller_ns = (thread_cpu_s() - cpu) * 1e9 / (double)n;
    if (cl_out_msgs(c) - before != (uint64_t)n) {
        fprintf(stderr, "pub: sent %llu of %ld\n", (unsigned long long)(cl_out_msgs(c) - before), n);
        exit(1);
    }
    cl_close(c);
    return (double)n / el;
}

struct counter { atomic_long n; atomic_long last_ns; };
static void bump(void *arg) {
    struct counter *k = arg;
    atomic_fetch_add(&k->n, 1);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    atomic_store(&k->last_ns, (long)t.tv_sec * 1000000000L + t.tv_nsec);
}

/* Pub->sub on two connections: rate from first publish to last receipt; lost counted. */
static long pubsub_lost;
static double bench_pubsub(size_t size) {
    long n = count_for(size, 1000000);
    conn_t *sc = cl_connect(url, 0), *pc = cl_connect(url, 0);
    struct counter k = {0, 0};
    struct cb_ctx x = {bump, &k};
    sub_t *s = cl_subscribe(sc, "bench.ps", &x);
    cl_flush(sc);
    double t = now_s();
    for (long i = 0; i < n; i++) cl_publish(pc, "bench.ps", payload, size);
    cl_flush(pc);
    long prev = -1;
    while (atomic_load(&k.n) < n && atomic_load(&k.n) != prev) {
        prev = atomic_load(&k.n);
        sleep_ms(500);
    }
    long got = atomic_load(&k.n);
    double last = (double)atomic_load(&k.last_ns) / 1e9;
    pubsub_lost = n - got;
    cl_sub_free(s);
    cl_close(pc);
    cl_close(sc);
    return (double)got / (last - t);
}

/* Sequential requests: p50 and p99 latency in microseconds. */
static void bench_req_latency(int fastest, double *p50, double *p99) {
    long n = scaled(20000);
    conn_t *rc = cl_connect(url, fastest), *qc = cl_connect(url, fastest);
    sub_t *r = cl_responder(rc, "bench.req");
    cl_flush(rc);
    double *lat = malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < 200; i++) cl_request(qc, "bench.req", payload, 16); /* warm up */
    for (long i = 0; i < n; i++) {
        double t = now_s();
        if (cl_request(qc, "bench.req", payload, 16)) { fprintf(stderr, "request failed\n"); exit(1); }
        lat[i] = (now_s() - t) * 1e6;
    }
    *p50 = percentile(lat, n, 0.50);
    *p99 = percentile(lat, n, 0.99);
    free(lat);
    cl_sub_free(r);
    cl_close(qc);
    cl_close(rc);
}

struct req_thread { conn_t *c; long n; const char *subject; };
static void *requester(void *arg) {
    struct req_thread *t = arg;
    for (long i = 0; i < t->n; i++)
        if (cl_request(t->c, t->subject, payload, 16)) { fprintf(stderr, "request failed\n"); exit(1); }
    return NULL;
}

/* 64 threads requesting `subject` concurrently on one connection: requests/s. */
static double run_req64(conn_t *qc, const char *subject) {
    long per = scaled(100000) / 64;
    pthread_t th[64];
    struct req_thread rt = {qc, per, subject};
    double t = now_s();
    for (int i = 0; i < 64; i++) pthread_create(&th[i], NULL, requester, &rt);
    for (int i = 0; i < 64; i++) pthread_join(th[i], NULL);
    return (double)(per * 64) / (now_s() - t);
}

/* 64 requesters, answered by a plain subscription: requests/s. */
static double bench_req64(void) {
    conn_t *rc = cl_connect(url, 0), *qc = cl_connect(url, 0);
    sub_t *r = cl_responder(rc, "bench.req64");
    cl_flush(rc);
    double v = run_req64(qc, "bench.req64");
    cl_sub_free(r);
    cl_close(qc);
    cl_close(rc);
    return v;
}

#if defined(CLIENT_OURS)
/* ---- nats-ffi only: services and the object store (nats.c 3.4 has neither) ---- */
static void on_svc(void *ud, nats_service_request *req) {
    (void)ud;
    const nats_msg *m = nats_service_request_msg(req);
    nats_service_respond(req, nats_msg_data(m), nats_msg_data_len(m));
}

/* 64 requesters, answered by a service endpoint (counted, timed): requests/s. Compare with
 * req64_per_s, the same load on a plain subscription. */
static double bench_svc_req64(void) {
    conn_t *rc = cl_connect(url, 0), *qc = cl_connect(url, 0);
    nats_service *svc = NULL;
    nats_service_config cfg = {0};
    cfg.name = "bench";
    cfg.version = "1.0.0";
    nats_service_endpoint_config ep = {0};
    ep.name = "echo";
    ep.subject = "bench.svc64";
    if (nats_service_add(rc, &cfg, &svc) || nats_service_add_endpoint(svc, NULL, &ep, on_svc, NULL, NULL))
        DIE("service");
    cl_flush(rc);
    double v = run_req64(qc, "bench.svc64");
    nats_service_statistics *st = NULL;
    if (nats_service_stats(svc, &st) || st->endpoints[0].requests != (uint64_t)(scaled(100000) / 64 * 64))
        DIE("service stats");
    nats_service_statistics_free(st);
    nats_service_free(svc);
    cl_close(qc);
    cl_close(rc);
    return v;
}

/* A temporary file of `size` bytes of a known pattern; returns its fd (at offset 0). */
static int pattern_file(long size) {
    char path[] = "/tmp/nats-ffi-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) DIE("mkstemp");
    unlink(path);
    static unsigned char buf[1 << 16];
    for (long at = 0; at < size; at += (long)sizeof buf) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)((at + (long)i) * 7 % 251);
        long n = size - at < (long)sizeof buf ? size - at : (long)sizeof buf;
        if (write(fd, buf, (size_t)n) != n) DIE("write");
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Whether two files hold the same bytes. */
static int same_files(int a, int b) {
    static unsigned char x[1 << 16], y[1 << 16];
    lseek(a, 0, SEEK_SET);
    lseek(b, 0, SEEK_SET);
    for (;;) {
        ssize_t n = read(a, x, sizeof x), m = read(b, y, sizeof y);
        if (n != m || n < 0) return 0;
        if (n == 0) return 1;
        if (memcmp(x, y, (size_t)n) != 0) return 0;
    }
}

/* A 100 MB object put from a file and read back into another: seconds each, the peak RSS
 * they added (MiB), and whether it came back byte-exact. */
static void bench_object(void) {
    long size = scaled(100000000);
    conn_t *c = cl_connect(url, 0);
    nats_jetstream *js = NULL;
    nats_object_store *os = NULL;
    nats_object_store_config cfg;
    if (nats_jetstream_new(c, NULL, &js) || nats_object_store_config_init(&cfg)) DIE("jetstream");
    cfg.bucket = "bench_objects";
    if (nats_jetstream_object_store_create(js, &cfg, &os)) DIE("object store");
    int src = pattern_file(size);
    char path[] = "/tmp/nats-ffi-bench-XXXXXX";
    int dst = mkstemp(path);
    unlink(path);
    nats_object_meta meta = {0};
    meta.name = "mail/body-100mb";
    long before = hwm_kib();
    double t = now_s();
    if (nats_object_store_put_fd(os, &meta, src, NULL)) DIE("put");
    double put_s = now_s() - t;
    t = now_s();
    if (nats_object_store_get_fd(os, meta.name, dst, NULL)) DIE("get");
    double get_s = now_s() - t;
    long added = hwm_kib() - before;
    if (!same_files(src, dst)) DIE("byte-exact round trip");
    result(label, "obj100m_put_s", 0, put_s);
    result(label, "obj100m_get_s", 0, get_s);
    result(label, "obj100m_peak_rss_added_mib", 0, (double)added / 1024.0);
    close(src);
    close(dst);
    nats_jetstream_object_store_delete(js, "bench_objects");
    nats_object_store_free(os);
    nats_jetstream_free(js);
    cl_close(c);
}
#endif

/* 10 000 subscriptions on one connection: time to subscribe, RSS per subscription, and the
 * rate of delivering messages spread over all of them. */
static void bench_many_subs(const char *prefix) {
    enum { N = 10000 };
    conn_t *c = cl_connect(url, 0), *pc = cl_connect(url, 0);
    static sub_t *subs[N];
    struct counter k = {0, 0};
    struct cb_ctx x = {bump, &k};
    char subj[64];
    long rss0 = rss_kib();
    double t = now_s();
    for (int i = 0; i < N; i++) {
        snprintf(subj, sizeof subj, "bench.many.%d", i);
        subs[i] = cl_subscribe(c, subj, &x);
    }
    cl_flush(c);
    double sub_s = now_s() - t;
    long rss1 = rss_kib();
    long rounds = scaled(20);
    t = now_s();
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < N; i++) {
            snprintf(subj, sizeof subj, "bench.many.%d", i);
            cl_publish(pc, subj, payload, 16);
        }
    cl_flush(pc);
    long want = rounds * N, prev = -1;
    while (atomic_load(&k.n) < want && atomic_load(&k.n) != prev) {
        prev = atomic_load(&k.n);
        sleep_ms(500);
    }
    double last = (double)atomic_load(&k.last_ns) / 1e9;
    char metric[64];
#define PREFIXED(name) (snprintf(metric, sizeof metric, "%s%s", prefix, name), metric)
    result(label, PREFIXED("subs10k_subscribe_ms"), 0, sub_s * 1000);
    result(label, PREFIXED("subs10k_bytes_per_sub"), 0, (double)(rss1 - rss0) * 1024.0 / N);
    result(label, PREFIXED("subs10k_msgs_per_s"), 16, (double)atomic_load(&k.n) / (last - t));
    result(label, PREFIXED("subs10k_lost"), 16, (double)(want - atomic_load(&k.n)));
#undef PREFIXED
    for (int i = 0; i < N; i++) cl_sub_free(subs[i]);
    cl_close(pc);
    cl_close(c);
}

/* RSS per idle connection: open 50, measure, close. */
static void bench_idle_conns(void) {
    enum { N = 50 };
    conn_t *cs[N];
    conn_t *warm = cl_connect(url, 0); /* runtime / library started before measuring */
    sleep_ms(200);
    long rss0 = rss_kib();
    for (int i = 0; i < N; i++) cs[i] = cl_connect(url, 0);
    sleep_ms(500);
    long rss1 = rss_kib();
    result(label, "idle_conn_kib", 0, (double)(rss1 - rss0) / N);
    for (int i = 0; i < N; i++) cl_close(cs[i]);
    cl_close(warm);
}

static double bench_js_async(js_t *js, size_t size) {
    long n = scaled(size > 16 ? 100000 : 200000);
    atomic_store(&js_acked, 0);
    atomic_store(&js_failed, 0);
    double t = now_s();
    for (long i = 0; i < n; i++) cl_js_pub_async(js, "bench.js.a", payload, size);
    cl_js_complete(js);
    double el = now_s() - t;
    if (atomic_load(&js_acked) != n || atomic_load(&js_failed) != 0) {
        fprintf(stderr, "js async: %ld acked, %ld failed of %ld\n", atomic_load(&js_acked), atomic_load(&js_failed), n);
        exit(1);
    }
    return (double)n / el;
}

static double bench_js_sync(js_t *js, size_t size) {
    long n = scaled(10000);
    double t = now_s();
    for (long i = 0; i < n; i++) cl_js_pub_sync(js, "bench.js.s", payload, size);
    return (double)n / (now_s() - t);
}

/* The shared pool (both clients) and the dispatcher (nats-ffi): 10 000 subscriptions,
 * pub -> sub and request latency with the subscribing / responding connection in that mode
 * (compare with the default-mode rows). */
static void bench_delivery(void) {
#if defined(CLIENT_OURS)
    if (nats_ffi_set_delivery_pool_size(POOL_THREADS)) DIE("pool size");
#else
    CHECKC(nats_SetMessageDeliveryPoolSize(POOL_THREADS), "pool size");
#endif
    for (int mode = 1; mode <= 2; mode++) {
        if (mode == 2 && !cl_supports_dispatcher()) break;
        if (mode == 2) cl_start_dispatcher();
        const char *prefix = mode == 1 ? "pool_" : "dispatch_";
        char metric[64];
        delivery = mode;
        if (mode == 1) bench_many_subs(prefix);
        long lost = 0;
        double best = 0, p50 = 1e9, p99 = 1e9, a, b;
        for (int r = 0; r < reps(); r++) {
            double x = bench_pubsub(16);
            if (x > best) best = x;
            lost += pubsub_lost;
            bench_req_latency(0, &a, &b);
            if (a < p50) { p50 = a; p99 = b; }
        }
        snprintf(metric, sizeof metric, "%spubsub_msgs_per_s", prefix);
        result(label, metric, 16, best);
        snprintf(metric, sizeof metric, "%spubsub_lost", prefix);
        result(label, metric, 16, (double)lost);
        snprintf(metric, sizeof metric, "%sreq_p50_us", prefix);
        result(label, metric, 16, p50);
        snprintf(metric, sizeof metric, "%sreq_p99_us", prefix);
        result(label, metric, 16, p99);
        delivery = 0;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <label> <url> [scenario...]\n", argv[0]);
        return 2;
    }
    label = argv[1];
    url = argv[2];
    memset(payload, 'x', sizeof payload);
    const char *only = argc > 3 ? argv[3] : "all";
#define WANT(name) (strcmp(only, "all") == 0 || strcmp(only, name) == 0)
    double v;
    if (WANT("pub"))
        for (int i = 0; i < 4; i++) {
            double best = 0, least_ns = 1e18;
            for (int r = 0; r < reps(); r++) {
                double x = bench_pub(SIZES[i]);
                if (x > best) best = x;
                if (pub_caller_ns < least_ns) least_ns = pub_caller_ns;
            }
            result(label, "pub_msgs_per_s", SIZES[i], best);
            result(label, "pub_caller_cpu_ns", SIZES[i], least_ns);
        }
    if (WANT("pubsub"))
        for (int i = 0; i < 4; i++) {
            long lost = 0;
            double best = 0;
            for (int r = 0; r < reps(); r++) {
                double x = bench_pubsub(SIZES[i]);
                if (x > best) best = x;
                lost += pubsub_lost;
            }
            result(label, "pubsub_msgs_per_s", SIZES[i], best);
            result(label, "pubsub_lost", SIZES[i], (double)lost);
        }
    if (WANT("req")) {
        double p50 = 1e9, p99 = 1e9, a, b;
        for (int r = 0; r < reps(); r++) {
            bench_req_latency(0, &a, &b);
            if (a < p50) { p50 = a; p99 = b; }
        }
        result(label, "req_p50_us", 16, p50);
        result(label, "req_p99_us", 16, p99);
#if defined(CLIENT_NATSC)
        p50 = p99 = 1e9;
        for (int r = 0; r < reps(); r++) {
            bench_req_latency(1, &a, &b);
            if (a < p50) { p50 = a; p99 = b; }
        }
        result(label, "req_sendasap_p50_us", 16, p50);
        result(label, "req_sendasap_p99_us", 16, p99);
#endif
        BEST_OF(reps(), bench_req64(), v);
        result(label, "req64_per_s", 16, v);
    }
#if defined(CLIENT_OURS)
    if (WANT("svc")) {
        BEST_OF(reps(), bench_svc_req64(), v);
        result(label, "svc_req64_per_s", 16, v);
    }
    if (WANT("object")) bench_object();
#endif
    if (WANT("subs")) bench_many_subs("");
    if (WANT("delivery")) bench_delivery();
    if (WANT("idle")) bench_idle_conns();
    if (WANT("js")) {
        conn_t *c = cl_connect(url, 0);
        js_t *js = cl_js(c);
        for (int i = 0; i < 2; i++) {
            BEST_OF(reps(), bench_js_async(js, SIZES[i]), v);
            result(label, "js_async_msgs_per_s", SIZES[i], v);
            BEST_OF(1, bench_js_sync(js, SIZES[i]), v);
            result(label, "js_sync_msgs_per_s", SIZES[i], v);
        }
        cl_js_free(js);
        cl_close(c);
    }
    return 0;
}
