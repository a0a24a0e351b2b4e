/* demo <url>: the main job in one program: connect, subscribe (wildcard), serve requests,
 * publish, request/reply, flush, check every count, free everything. */
#include "common.h"
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_long events_seen;
static atomic_long requests_served;

static void on_event(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)sub;
    if (strncmp(nats_msg_subject(msg), "demo.events", 11) == 0) atomic_fetch_add(&events_seen, 1);
}

static void on_request(void *ud, nats_subscription *sub, const nats_msg *msg) {
    nats_connection *nc = ud;
    char out[256];
    (void)sub;
    int n = snprintf(out, sizeof out, "accepted: %.*s", (int)nats_msg_data_len(msg), (const char *)nats_msg_data(msg));
    if (nats_msg_respond(nc, msg, out, (size_t)n) == NATS_OK) atomic_fetch_add(&requests_served, 1);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    const char *servers[] = {url};
    nats_options *opts = NULL;
    nats_connection *nc = NULL;
    nats_subscription *events = NULL, *service = NULL;
    printf("nats-ffi %s\n", nats_ffi_version());
    CHECK(nats_options_new(&opts));
    CHECK(nats_options_set_servers(opts, servers, 1));
    CHECK(nats_options_set_name(opts, "nats-ffi-demo"));
    CHECK(nats_connect(opts, &nc));
    nats_options_free(opts);
    printf("connected to %s\n", url);

    CHECK(nats_subscribe(nc, "demo.>", on_event, NULL, &events));
    CHECK(nats_subscribe(nc, "demo.service", on_request, nc, &service));
    CHECK(nats_connection_flush(nc, 5000));

    for (int i = 0; i < 10; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "delivery %d to user%d@example.com", i, i);
        CHECK(nats_publish(nc, "demo.events", line, (size_t)n));
    }
    for (int i = 0; i < 3; i++) {
        nats_msg *reply = NULL;
        CHECK(nats_request(nc, "demo.service", "mail from:<a@example.com>", 25, 5000, &reply));
        printf("reply %d: %.*s\n", i, (int)nats_msg_data_len(reply), (const char *)nats_msg_data(reply));
        nats_msg_free(reply);
    }
    CHECK(nats_connection_flush(nc, 5000));
    /* The responder counts a request after its reply is sent: the last count may trail the reply. */
    for (int i = 0; i < 500 && (atomic_load(&events_seen) < 10 || atomic_load(&requests_served) < 3); i++) sleep_ms(10);

    long seen = atomic_load(&events_seen), served = atomic_load(&requests_served);
    printf("published 10, received %ld on demo.>; served %ld of 3 requests\n", seen, served);
    nats_subscription_free(events);
    nats_subscription_free(service);
    nats_connection_free(nc);
    if (seen != 10 || served != 3) { fprintf(stderr, "demo: wrong counts\n"); return 1; }
    printf("demo OK\n");
    return 0;
}
