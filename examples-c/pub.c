/* pub <url> <subject> <count> [payload]: publish count messages, flush, report. */
#include "common.h"
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s <url> <subject> [count] [payload]\n", argv[0]); return 2; }
    long count = arg_count(argc, argv, 3, 1);
    const char *payload = argc > 4 ? argv[4] : "hello";
    nats_connection *nc = NULL;
    CHECK(nats_connect_url(argv[1], &nc));
    for (long i = 0; i < count; i++)
        CHECK(nats_publish(nc, argv[2], payload, strlen(payload)));
    CHECK(nats_connection_flush(nc, 5000));
    printf("published %ld messages\n", count);
    nats_connection_free(nc);
    return 0;
}
