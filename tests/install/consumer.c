/* consumer <url>: a program built only from an installed nats-ffi (headers, library,
 * pkg-config or CMake): checks the library's version at run time, then publishes and
 * receives one message through a real server. Prints "consumer OK" on success. */
#include <nats_ffi.h>
#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        nats_status s_ = (call);                                                        \
        if (s_ != NATS_OK) {                                                            \
            fprintf(stderr, "%s: %s (%s)\n", #call, nats_status_str(s_), nats_last_error()); \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    CHECK(nats_ffi_check_version(NATS_FFI_VERSION_MAJOR, NATS_FFI_VERSION_MINOR));
    nats_connection *nc = NULL;
    nats_subscription *sub = NULL;
    nats_msg *msg = NULL;
    CHECK(nats_connect_url(argv[1], &nc));
    CHECK(nats_subscribe_sync(nc, "installed", &sub));
    CHECK(nats_publish(nc, "installed", "hello", 5));
    CHECK(nats_subscription_next_msg(sub, 5000, &msg));
    int ok = nats_msg_data_len(msg) == 5 && memcmp(nats_msg_data(msg), "hello", 5) == 0;
    nats_msg_free(msg);
    nats_subscription_free(sub);
    nats_connection_free(nc);
    printf("consumer %s (%s)\n", ok ? "OK" : "FAILED", nats_ffi_version());
    return ok ? 0 : 1;
}
