/* A plugin host: loads the library with dlopen (as a mail server loads a plugin that uses
 * it), runs a session — connect, subscribe with a callback, publish, receive, free —, calls
 * nats_ffi_shutdown, checks that none of the library's threads is left, unloads it with
 * dlclose, and does it all again. A thread left running in unloaded code would crash the
 * process. Not linked against the library: every function comes from dlsym.
 * Usage: test_plugin <nats-url> <path to libnats_ffi.so> */
#include <nats_ffi.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int passed, failed;
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) passed++;                                                  \
        else { failed++; fprintf(stderr, "%s:%d: FAILED %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

/* The functions the host uses, looked up in the loaded library. */
struct api {
    nats_status (*connect_url)(const char *, nats_connection **);
    nats_status (*subscribe)(nats_connection *, const char *, nats_msg_callback, void *, nats_subscription **);
    nats_status (*publish)(nats_connection *, const char *, const void *, size_t);
    nats_status (*flush)(nats_connection *, uint64_t);
    void (*subscription_free)(nats_subscription *);
    void (*connection_free)(nats_connection *);
    nats_status (*shutdown)(uint64_t);
    const char *(*last_error)(void);
};

static int load(void *lib, struct api *a) {
    /* Casting a data pointer to a function pointer is what dlsym requires (POSIX). */
#define SYM(field, name) \
    (*(void **)(&a->field) = dlsym(lib, name), a->field != NULL || (fprintf(stderr, "no %s\n", name), 0))
    return SYM(connect_url, "nats_connect_url") && SYM(subscribe, "nats_subscribe") &&
           SYM(publish, "nats_publish") && SYM(flush, "nats_connection_flush") &&
           SYM(subscription_free, "nats_subscription_free") && SYM(connection_free, "nats_connection_free") &&
           SYM(shutdown, "nats_ffi_shutdown") && SYM(last_error, "nats_last_error");
#undef SYM
}

static atomic_int received;

static void on_msg(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud, (void)sub, (void)msg;
    atomic_fetch_add(&received, 1);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Threads of this process whose name starts with "nats-ffi". */
static int library_threads(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], name[64] = "";
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(name, sizeof name, f) && strncmp(name, "nats-ffi", 8) == 0) n++;
        fclose(f);
    }
    if (d) closedir(d);
    return n;
}

/* Whether a mapping of `path` is in this process (after dlclose: whether it was unloaded). */
static int mapped(const char *path) {
    char line[4096];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, path)) found = 1;
    if (f) fclose(f);
    return found;
}

static void session(const struct api *a, const char *url) {
    nats_connection *nc = NULL;
    nats_subscription *sub = NULL;
    atomic_store(&received, 0);
    nats_status s = a->connect_url(url, &nc);
    CHECK(s == NATS_OK);
    if (s != NATS_OK) {
        fprintf(stderr, "connect: %s\n", a->last_error());
        return;
    }
    CHECK(a->subscribe(nc, "plugin.events", on_msg, NULL, &sub) == NATS_OK);
    CHECK(a->flush(nc, 5000) == NATS_OK);
    for (int i = 0; i < 10; i++) CHECK(a->publish(nc, "plugin.events", "delivered", 9) == NATS_OK);
    CHECK(a->flush(nc, 5000) == NATS_OK);
    for (int i = 0; i < 2000 && atomic_load(&received) < 10; i++) sleep_ms(5);
    CHECK(atomic_load(&received) == 10);
    CHECK(library_threads() > 0);
    a->subscription_free(sub);
    a->connection_free(nc);
    s = a->shutdown(10000);
    CHECK(s == NATS_OK);
    if (s != NATS_OK) fprintf(stderr, "shutdown: %s\n", a->last_error());
    CHECK(library_threads() == 0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <nats-url> <libnats_ffi.so>\n", argv[0]);
        return 2;
    }
    for (int round = 0; round < 3; round++) {
        void *lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
        CHECK(lib != NULL);
        if (!lib) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            break;
        }
        struct api a;
        memset(&a, 0, sizeof a);
        int loaded = load(lib, &a);
        CHECK(loaded);
        if (loaded) session(&a, argv[1]);
        CHECK(dlclose(lib) == 0);
        /* Information, not a check: glibc keeps a library mapped while it has thread-local
         * destructors registered, which Rust's standard library may do. */
        printf("round %d: %s after dlclose\n", round + 1, mapped(argv[2]) ? "still mapped" : "unmapped");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
