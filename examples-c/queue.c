/* queue <url> <subject> <group> <count>: a queue-group member; exits after count messages
 * (30 s limit). Run several: each message goes to one member only. */
#include "common.h"

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s <url> <subject> <group> [count]\n", argv[0]); return 2; }
    counter got = COUNTER_INIT(arg_count(argc, argv, 4, 1));
    nats_connection *nc = NULL;
    nats_subscription *sub = NULL;
    CHECK(nats_connect_url(argv[1], &nc));
    CHECK(nats_queue_subscribe(nc, argv[2], argv[3], print_msg, &got, &sub));
    CHECK(nats_connection_flush(nc, 5000));
    printf("ready\n");
    fflush(stdout);
    int ok = counter_wait(&got, 30);
    nats_subscription_free(sub);
    nats_connection_free(nc);
    return ok ? 0 : 1;
}
