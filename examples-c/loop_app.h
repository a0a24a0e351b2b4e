/* Shared by the event-loop examples (epoll.c, libuv.c, libevent.c): one program on one
 * thread subscribes, serves requests, requests (from itself) and receives, with every
 * callback run by the loop through a nats_dispatcher. Only the loop differs per example.
 *
 * The pattern: create a dispatcher, give it to the options, connect; then watch
 * nats_dispatcher_fd() for readability in your loop and call nats_dispatcher_dispatch()
 * when it is readable. The fd is level-triggered: it stays readable until dispatch has run
 * everything that waits.
 *
 * Requests from the loop's thread must be asynchronous (nats_request_async): a blocking
 * nats_request to a service served by this same loop would wait for a reply that only the
 * loop can produce. */
#ifndef EXAMPLES_LOOP_APP_H
#define EXAMPLES_LOOP_APP_H
#include "common.h"
#include <string.h>

#define EVENTS 100 /* messages published to ourselves */
#define REQUESTS 10 /* requests made to ourselves */

typedef struct {
    nats_dispatcher *d;
    nats_connection *nc;
    nats_subscription *svc, *events;
    pthread_t loop_thread;
    long events_seen, requests_served, replies_seen, wrong_thread, failures;
} app;

static void check_thread(app *a) {
    if (!pthread_equal(pthread_self(), a->loop_thread)) a->wrong_thread++;
}

/* The service: answers each request with "re: <payload>". */
static void on_request(void *ud, nats_subscription *sub, const nats_msg *msg) {
    app *a = ud;
    char buf[256];
    (void)sub;
    check_thread(a);
    int n = snprintf(buf, sizeof buf, "re: %.*s", (int)nats_msg_data_len(msg), (const char *)nats_msg_data(msg));
    if (nats_msg_respond(a->nc, msg, buf, (size_t)n) != NATS_OK) a->failures++;
    a->requests_served++;
}

static void on_event(void *ud, nats_subscription *sub, const nats_msg *msg) {
    app *a = ud;
    (void)sub;
    (void)msg;
    check_thread(a);
    a->events_seen++;
}

static void on_reply(void *ud, nats_status st, const nats_msg *reply) {
    app *a = ud;
    check_thread(a);
    if (st != NATS_OK || nats_msg_data_len(reply) < 4 || memcmp(nats_msg_data(reply), "re: ", 4) != 0) a->failures++;
    a->replies_seen++;
}

/* Connects with a dispatcher, subscribes, publishes and requests; the callbacks run once
 * the caller's loop dispatches. */
static void app_start(app *a, const char *url) {
    memset(a, 0, sizeof *a);
    a->loop_thread = pthread_self();
    nats_options *o = NULL;
    CHECK(nats_dispatcher_new(&a->d));
    CHECK(nats_options_new(&o));
    CHECK(nats_options_set_servers(o, &url, 1));
    CHECK(nats_options_set_dispatcher(o, a->d));
    CHECK(nats_connect(o, &a->nc));
    nats_options_free(o);
    CHECK(nats_subscribe(a->nc, "loop.svc", on_request, a, &a->svc));
    CHECK(nats_subscribe(a->nc, "loop.events", on_event, a, &a->events));
    CHECK(nats_connection_flush(a->nc, 5000));
    for (int i = 0; i < EVENTS; i++) CHECK(nats_publish(a->nc, "loop.events", "event", 5));
    for (int i = 0; i < REQUESTS; i++) CHECK(nats_request_async(a->nc, "loop.svc", "ping", 4, 5000, on_reply, a));
}

static int app_done(const app *a) {
    return a->events_seen == EVENTS && a->requests_served == REQUESTS && a->replies_seen == REQUESTS;
}

/* Dispatches what waits; called by the loop when the fd is readable. */
static void app_dispatch(app *a) {
    CHECK(nats_dispatcher_dispatch(a->d, SIZE_MAX, NULL));
}

/* Reports, cleans up and returns the exit code. */
static int app_finish(app *a, const char *loop) {
    printf("%s: %ld events, %ld requests served, %ld replies, %ld callbacks on another thread, %ld failures\n",
           loop, a->events_seen, a->requests_served, a->replies_seen, a->wrong_thread, a->failures);
    int ok = app_done(a) && a->wrong_thread == 0 && a->failures == 0;
    nats_subscription_free(a->svc);
    nats_subscription_free(a->events);
    nats_connection_close(a->nc);
    /* The subscriptions' last steps run in the dispatcher: dispatch until nothing comes. */
    while (nats_dispatcher_wait(a->d, 200) == NATS_OK) app_dispatch(a);
    nats_connection_free(a->nc);
    nats_dispatcher_free(a->d);
    printf("%s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
#endif
