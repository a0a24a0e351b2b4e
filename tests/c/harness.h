/* The C tests' harness: pass/fail counters (C11 atomics, shared with callbacks), EXPECT
 * macros that print the library's last error on failure, bounded waits and small helpers. */
#ifndef NATS_FFI_TEST_HARNESS_H
#define NATS_FFI_TEST_HARNESS_H
#include <nats_ffi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------ */
/* Harness */

static atomic_int passed, failed; /* one harness per test program */
#define EXPECT(cond)                                                                   \
    do {                                                                               \
        if (cond) atomic_fetch_add(&passed, 1);                                        \
        else { atomic_fetch_add(&failed, 1);                                           \
               fprintf(stderr, "%s:%d: FAILED %s (last error: %s)\n",                  \
                       __FILE__, __LINE__, #cond, nats_last_error()); }                \
    } while (0)
#define EXPECT_STATUS(call, want)                                                      \
    do {                                                                               \
        nats_status st_ = (call);                                                      \
        if (st_ == (want)) atomic_fetch_add(&passed, 1);                               \
        else { atomic_fetch_add(&failed, 1);                                           \
               fprintf(stderr, "%s:%d: FAILED %s: got %d (%s), want %s (last error: %s)\n", \
                       __FILE__, __LINE__, #call, (int)st_, nats_status_str(st_), #want, \
                       nats_last_error()); }                                           \
    } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(call, NATS_OK)

/* Generous bound for waits: the program also runs under valgrind. */
#define LIMIT_MS 20000

static inline void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static inline void sleep_us(long us) {
    struct timespec t = {0, us * 1000L};
    nanosleep(&t, NULL);
}

static inline long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Polls `cond` every 5 ms until true or `ms` passed; then `cond` is evaluated by the caller. */
#define WAIT_FOR(cond, ms)                                                             \
    do {                                                                               \
        long long dl_ = now_ms() + (ms);                                               \
        while (!(cond) && now_ms() < dl_) sleep_ms(5);                                 \
    } while (0)

static inline bool data_is(const nats_msg *m, const char *s) {
    size_t n = strlen(s);
    return m && nats_msg_data_len(m) == n && memcmp(nats_msg_data(m), s, n) == 0;
}

static inline bool str_is(const char *got, const char *want) {
    return got && strcmp(got, want) == 0;
}

static inline bool starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A responder: answers each request with its payload in upper case (at most 64 bytes), on the
 * connection passed as `ud`. */
static inline void upper_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    char buf[64];
    size_t n = nats_msg_data_len(msg);
    (void)sub;
    if (n > sizeof buf) n = sizeof buf;
    for (size_t i = 0; i < n; i++) {
        char c = ((const char *)nats_msg_data(msg))[i];
        buf[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    EXPECT_OK(nats_msg_respond((nats_connection *)ud, msg, buf, n));
}

#endif
