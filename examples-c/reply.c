/* reply <url> <subject> <count>: answer count requests with "reply: <payload>". */
#include "common.h"

typedef struct { nats_connection *nc; counter answered; int failed; } state;

static void on_request(void *ud, nats_subscription *sub, const nats_msg *msg) {
    state *st = ud;
    char buf[1024];
    (void)sub;
    int n = snprintf(buf, sizeof buf, "reply: %.*s", (int)nats_msg_data_len(msg), (const char *)nats_msg_data(msg));
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    nats_status s = nats_msg_respond(st->nc, msg, buf, len);
    if (s != NATS_OK) { st->failed = 1; fprintf(stderr, "respond: %s (%s)\n", nats_status_str(s), nats_last_error()); }
    printf("answered #%ld\n", counter_bump(&st->answered));
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s <url> <subject> [count]\n", argv[0]); return 2; }
    state st = {NULL, COUNTER_INIT(arg_count(argc, argv, 3, 1)), 0};
    nats_subscription *sub = NULL;
    CHECK(nats_connect_url(argv[1], &st.nc));
    CHECK(nats_subscribe(st.nc, argv[2], on_request, &st, &sub));
    CHECK(nats_connection_flush(st.nc, 5000));
    printf("ready\n");
    fflush(stdout);
    int ok = counter_wait(&st.answered, 30) && !st.failed;
    nats_subscription_free(sub);
    nats_connection_free(st.nc);   /* flushes the last reply */
    return ok ? 0 : 1;
}
