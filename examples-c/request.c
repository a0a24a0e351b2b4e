/* request <url> <subject> <count> [payload]: count requests, printing each reply. */
#include "common.h"
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s <url> <subject> [count] [payload]\n", argv[0]); return 2; }
    long count = arg_count(argc, argv, 3, 1);
    const char *payload = argc > 4 ? argv[4] : "ping";
    nats_connection *nc = NULL;
    CHECK(nats_connect_url(argv[1], &nc));
    for (long i = 0; i < count; i++) {
        nats_msg *reply = NULL;
        CHECK(nats_request(nc, argv[2], payload, strlen(payload), 5000, &reply));
        printf("got: %.*s\n", (int)nats_msg_data_len(reply), (const char *)nats_msg_data(reply));
        nats_msg_free(reply);
    }
    nats_connection_free(nc);
    return 0;
}
