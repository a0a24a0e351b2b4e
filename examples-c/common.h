/* Shared by the examples: fail loudly with the library's own explanation. */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H
#include <nats_ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        nats_status s_ = (call);                                                        \
        if (s_ != NATS_OK) {                                                            \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, nats_status_str(s_),         \
                    nats_last_error());                                                 \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Counts callbacks; the main thread waits until `want` have arrived or time runs out. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long seen, want;
} counter;

#define COUNTER_INIT(want) {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, (want)}

/* Adds one; returns the new count. Call from a callback. */
static inline long counter_bump(counter *c) {
    pthread_mutex_lock(&c->mu);
    long n = ++c->seen;
    if (n >= c->want) pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Waits up to `seconds` for the count; returns 1 if reached. */
static inline int counter_wait(counter *c, int seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    while (c->seen < c->want && rc == 0) rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    int done = c->seen >= c->want;
    pthread_mutex_unlock(&c->mu);
    return done;
}

/* Message callback for the subscriber examples: prints the message, counts it in the
 * `counter` passed as user_data. */
static inline void print_msg(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)sub;
    long n = counter_bump(ud);
    printf("[#%ld] %s: %.*s\n", n, nats_msg_subject(msg), (int)nats_msg_data_len(msg),
           (const char *)nats_msg_data(msg));
    fflush(stdout);
}

static inline long arg_count(int argc, char **argv, int i, long def) {
    return argc > i ? strtol(argv[i], NULL, 10) : def;
}
#endif
