/* Shared by bench_ours.c and bench_natsc.c: timing, RSS, percentiles, scaled counts and the
 * result lines run.sh turns into a table:  RESULT <client> <metric> <size> <value>  */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const size_t SIZES[] = {16, 256, 4096, 65536};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((unused)) static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A KiB field of /proc/self/status ("VmRSS:", "VmHWM:"); -1 if missing. */
static long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0) kib = atol(line + n);
    if (f) fclose(f);
    return kib;
}

/* Resident set size of this process, KiB. */
__attribute__((unused)) static long rss_kib(void) { return status_kib("VmRSS:"); }

/* Peak resident set size of this process, KiB. */
__attribute__((unused)) static long hwm_kib(void) { return status_kib("VmHWM:"); }

/* Message count for a size, scaled by BENCH_SCALE (default 1). */
static long count_for(size_t size, long at16) {
    const char *s = getenv("BENCH_SCALE");
    double scale = s ? atof(s) : 1.0;
    long n = at16;
    if (size >= 256) n = at16 / 2;
    if (size >= 4096) n = at16 / 10;
    if (size >= 65536) n = at16 / 100;
    n = (long)((double)n * scale);
    return n < 100 ? 100 : n;
}

__attribute__((unused)) static long scaled(long n) {
    const char *s = getenv("BENCH_SCALE");
    double scale = s ? atof(s) : 1.0;
    long v = (long)((double)n * scale);
    return v < 10 ? 10 : v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

__attribute__((unused)) static double percentile(double *v, long n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    long i = (long)(p * (double)(n - 1));
    return v[i];
}

static void result(const char *client, const char *metric, size_t size, double value) {
    printf("RESULT %s %s %zu %.3f\n", client, metric, size, value);
    fflush(stdout);
}

/* Best of `reps` runs (highest rate). */
#define BEST_OF(reps, expr, out)                                                       \
    do {                                                                               \
        double best_ = 0;                                                              \
        for (int r_ = 0; r_ < (reps); r_++) {                                          \
            double v_ = (expr);                                                        \
            if (v_ > best_) best_ = v_;                                                \
        }                                                                              \
        (out) = best_;                                                                 \
    } while (0)

static int reps(void) {
    const char *s = getenv("BENCH_REPS");
    return s ? atoi(s) : 3;
}

#endif
