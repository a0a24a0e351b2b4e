/* sub <url> <subject> <count>: print messages until count arrived (30 s limit). */
#include "common.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s <url> <subject> [count]\n", argv[0]); return 2; }
    counter got = COUNTER_INIT(arg_count(argc, argv, 3, 1));
    nats_connection *nc = NULL;
    nats_subscription *sub = NULL;
    CHECK(nats_connect_url(argv[1], &nc));
    CHECK(nats_subscribe(nc, argv[2], print_msg, &got, &sub));
    CHECK(nats_connection_flush(nc, 5000));
    printf("ready\n");
    fflush(stdout);
    int ok = counter_wait(&got, 30);
    nats_subscription_free(sub);
    nats_connection_free(nc);
    if (!ok) { fprintf(stderr, "timed out after %ld of %ld messages\n", got.seen, got.want); return 1; }
    return 0;
}
