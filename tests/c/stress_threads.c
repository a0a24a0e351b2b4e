/* stress_threads <url> [seconds] [threads]: many threads sharing one connection.
 *
 * Each thread loops until the time is up, mixing: publish, subscribe/publish/unsubscribe/free,
 * a subscription whose callback frees itself, a synchronous subscription, request/reply,
 * flush, and statistics. The main thread samples the process's RSS once a second and closes
 * the connection shortly before the end, under load. Every status a call returns must be one
 * the header documents for it in these circumstances; a deadlock shows as the run not
 * finishing (the test runner's time limit); memory errors show under ASan.
 *
 * Prints the operation counts, the RSS samples (KiB) and "N passed, M failed". */
#include <nats_ffi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static nats_connection *nc;
static atomic_int stop;
/* Set when the close under load begins: from then on the close drains the echo responder on
 * this same connection, so a request may find no responder. */
static atomic_int closing;
static atomic_long ops, failures, self_freed, delivered, replies;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Accepts the statuses these calls may return under this load: success, timeouts, and
 * "closed" once the main thread closes the connection (or a subscription is gone). */
static void expect(nats_status s, const char *what) {
    atomic_fetch_add(&ops, 1);
    switch (s) {
    case NATS_OK:
    case NATS_ERR_TIMEOUT:
    case NATS_ERR_CONNECTION_CLOSED:
    case NATS_ERR_INVALID_SUBSCRIPTION:
        return;
    case NATS_ERR_NO_RESPONDERS: /* the responder is unsubscribed only at close */
    default:
        if (atomic_fetch_add(&failures, 1) < 20)
            fprintf(stderr, "%s: %s (%s)\n", what, nats_status_str(s), nats_last_error());
    }
}

static void count_delivery(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud, (void)sub, (void)msg;
    atomic_fetch_add(&delivered, 1);
}

/* A subscription that its own callback frees on the first message (allowed from inside the
 * callback). Should the message never come (the connection closed first), the thread that
 * made it frees it instead: whoever claims it first. The record is shared by that thread and
 * the library (which releases its reference through user_data_free, after the last callback). */
struct self_free {
    atomic_int claimed;
    atomic_int refs;
};

static void release(struct self_free *e) {
    if (atomic_fetch_sub(&e->refs, 1) == 1) free(e);
}

static void release_user_data(void *ud) { release(ud); }

static void free_self(void *ud, nats_subscription *sub, const nats_msg *msg) {
    struct self_free *e = ud;
    (void)msg;
    if (atomic_exchange(&e->claimed, 1) == 0) {
        nats_subscription_unsubscribe(sub);
        nats_subscription_free(sub);
        atomic_fetch_add(&self_freed, 1);
    }
}

static void respond(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud, (void)sub;
    nats_status s = nats_msg_respond(nc, msg, nats_msg_data(msg), nats_msg_data_len(msg));
    if (s != NATS_OK && s != NATS_ERR_CONNECTION_CLOSED) expect(s, "nats_msg_respond");
}

static void *worker(void *arg) {
    long id = (long)arg;
    unsigned seed = (unsigned)id * 2654435761u;
    char subject[64];
    while (!atomic_load(&stop)) {
        int op = rand_r(&seed) % 10;
        snprintf(subject, sizeof subject, "stress.%ld.%d", id, rand_r(&seed) % 4);
        nats_subscription *sub = NULL;
        nats_msg *msg = NULL;
        switch (op) {
        case 0: case 1: case 2:
            expect(nats_publish(nc, subject, "payload", 7), "nats_publish");
            break;
        case 3: {
            nats_status s = nats_subscribe(nc, subject, count_delivery, NULL, &sub);
            expect(s, "nats_subscribe");
            if (s == NATS_OK) {
                expect(nats_publish(nc, subject, "x", 1), "nats_publish");
                expect(nats_subscription_unsubscribe(sub), "nats_subscription_unsubscribe");
                expect(nats_subscription_unsubscribe(sub), "nats_subscription_unsubscribe (again)");
                nats_subscription_free(sub);
            }
            break;
        }
        case 4: {
            struct self_free *e = malloc(sizeof *e);
            atomic_init(&e->claimed, 0);
            atomic_init(&e->refs, 2);
            nats_status s = nats_subscribe_ex(nc, subject, NULL, free_self, e, release_user_data, &sub);
            expect(s, "nats_subscribe_ex");
            if (s != NATS_OK) {
                free(e); /* not taken: user_data_free is not called on failure */
                break;
            }
            expect(nats_connection_flush(nc, 2000), "nats_connection_flush");
            expect(nats_publish(nc, subject, "bye", 3), "nats_publish");
            for (int i = 0; i < 2000 && !atomic_load(&e->claimed); i++) sleep_ms(1);
            if (atomic_exchange(&e->claimed, 1) == 0) nats_subscription_free(sub);
            release(e);
            break;
        }
        case 5: {
            nats_status s = nats_subscribe_sync(nc, subject, &sub);
            expect(s, "nats_subscribe_sync");
            if (s == NATS_OK) {
                expect(nats_publish(nc, subject, "sync", 4), "nats_publish");
                s = nats_subscription_next_msg(sub, 20, &msg);
                expect(s, "nats_subscription_next_msg");
                nats_msg_free(msg);
                expect(nats_subscription_drain(sub, 1000), "nats_subscription_drain");
                nats_subscription_free(sub);
            }
            break;
        }
        case 6: case 7: {
            nats_status s = nats_request(nc, "stress.echo", "ping", 4, 2000, &msg);
            if (s == NATS_OK) atomic_fetch_add(&replies, 1);
            expect(s == NATS_ERR_NO_RESPONDERS && atomic_load(&closing) ? NATS_OK : s, "nats_request");
            nats_msg_free(msg);
            break;
        }
        case 8:
            expect(nats_connection_flush(nc, 2000), "nats_connection_flush");
            break;
        default: {
            nats_statistics st;
            expect(nats_connection_stats(nc, &st), "nats_connection_stats");
            (void)nats_connection_status(nc);
            break;
        }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    int seconds = argc > 2 ? atoi(argv[2]) : 30;
    int nthreads = argc > 3 ? atoi(argv[3]) : 64;
    if (nats_connect_url(url, &nc) != NATS_OK) {
        fprintf(stderr, "connect: %s\n", nats_last_error());
        return 1;
    }
    nats_subscription *echo = NULL;
    if (nats_subscribe(nc, "stress.echo", respond, NULL, &echo) != NATS_OK || nats_connection_flush(nc, 5000) != NATS_OK) {
        fprintf(stderr, "setup: %s\n", nats_last_error());
        return 1;
    }
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    for (long i = 0; i < nthreads; i++) pthread_create(&threads[i], NULL, worker, (void *)i);

    double start = now_s();
    printf("rss_kib");
    int closed = 0;
    for (int s = 1; s <= seconds; s++) {
        while (now_s() - start < s) sleep_ms(20);
        printf(" %ld", rss_kib());
        fflush(stdout);
        if (!closed && s >= seconds - 2) {
            atomic_store(&closing, 1);
            nats_connection_close(nc); /* under load, with every thread still calling */
            closed = 1;
        }
    }
    printf("\n");
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    free(threads);
    nats_subscription_free(echo);
    nats_connection_free(nc);
    long f = atomic_load(&failures);
    printf("ops %ld, replies %ld, deliveries %ld, self-freed subscriptions %ld\n", atomic_load(&ops), atomic_load(&replies),
           atomic_load(&delivered), atomic_load(&self_freed));
    printf("%ld passed, %ld failed\n", atomic_load(&ops) - f, f);
    return f ? 1 : 0;
}
