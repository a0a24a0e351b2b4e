/* A mail-log pipeline on JetStream.
 *
 *   maillog <url> publish <count>   an MTA publishing delivery records: stream MAILLOG
 *                                   (subjects maillog.>), async publishes with the queue id as
 *                                   msg-id (a retried record is stored once), every ack checked
 *   maillog <url> consume <count>   an archiver: durable pull consumer "archiver", fetches in
 *                                   batches, acks each record once processed
 *
 * Prints one summary line per role; exits non-zero if anything was lost or failed. */
#include "common.h"
#include <string.h>

typedef struct {
    pthread_mutex_t mu;
    long acked, duplicates, failed;
} acks;

static void on_ack(void *ud, nats_status st, const nats_pub_ack *ack) {
    acks *a = ud;
    pthread_mutex_lock(&a->mu);
    if (st != NATS_OK) {
        a->failed++;
        fprintf(stderr, "publish failed: %s (%s)\n", nats_status_str(st), nats_last_error());
    } else if (nats_pub_ack_duplicate(ack)) {
        a->duplicates++;
    } else {
        a->acked++;
    }
    pthread_mutex_unlock(&a->mu);
}

static void ensure_stream(nats_jetstream *js) {
    const char *subjects[] = {"maillog.>"};
    nats_stream_config cfg;
    CHECK(nats_stream_config_init(&cfg));
    cfg.name = "MAILLOG";
    cfg.subjects = subjects;
    cfg.subjects_count = 1;
    cfg.duplicate_window_ms = 10 * 60 * 1000; /* retries within 10 minutes are deduplicated */
    CHECK(nats_jetstream_stream_create(js, &cfg, NULL));
}

static int publish(nats_jetstream *js, long count) {
    acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    char subject[64], id[64], record[256];
    for (long i = 0; i < count; i++) {
        snprintf(id, sizeof id, "Q%08ld", i);
        snprintf(subject, sizeof subject, "maillog.%s", i % 10 == 9 ? "bounce" : "delivered");
        int n = snprintf(record, sizeof record,
                         "{\"queue_id\":\"%s\",\"rcpt\":\"user%ld@example.org\",\"status\":\"%s\"}", id, i,
                         i % 10 == 9 ? "5.1.1" : "2.0.0");
        nats_js_publish_options o;
        memset(&o, 0, sizeof o);
        o.msg_id = id;
        CHECK(nats_jetstream_publish_async(js, subject, record, (size_t)n, &o, on_ack, &a));
    }
    /* The MTA retries the first records after a crash: same ids, stored once. */
    long retries = count < 10 ? count : 10;
    for (long i = 0; i < retries; i++) {
        nats_js_publish_options o;
        memset(&o, 0, sizeof o);
        snprintf(id, sizeof id, "Q%08ld", i);
        o.msg_id = id;
        CHECK(nats_jetstream_publish_async(js, "maillog.delivered", "retry", 5, &o, on_ack, &a));
    }
    CHECK(nats_jetstream_publish_async_complete(js, 30000));
    printf("published %ld records: %ld stored, %ld duplicates, %ld failed\n", count, a.acked, a.duplicates,
           a.failed);
    return a.acked == count && a.duplicates == retries && a.failed == 0 ? 0 : 1;
}

static int consume(nats_jetstream *js, long count) {
    nats_consumer_config cfg;
    CHECK(nats_consumer_config_init(&cfg));
    cfg.durable_name = "archiver";
    cfg.ack_wait_ms = 30000;
    CHECK(nats_jetstream_consumer_create(js, "MAILLOG", &cfg, NULL));
    nats_pull_consumer *pc = NULL;
    CHECK(nats_jetstream_pull_consumer(js, "MAILLOG", "archiver", &pc));
    long done = 0, bounces = 0, last_seq = 0, out_of_order = 0;
    while (done < count) {
        nats_msg **msgs = NULL;
        size_t n = 0;
        nats_status st = nats_pull_consumer_fetch(pc, 100, 2000, &msgs, &n);
        if (st == NATS_ERR_TIMEOUT) break; /* nothing more to archive */
        CHECK(st);
        for (size_t i = 0; i < n; i++) {
            nats_js_msg_metadata md;
            CHECK(nats_msg_metadata(msgs[i], &md));
            if ((long)md.stream_seq <= last_seq) out_of_order++;
            last_seq = (long)md.stream_seq;
            if (strcmp(nats_msg_subject(msgs[i]), "maillog.bounce") == 0) bounces++;
            /* ... write the record to the archive, then: */
            CHECK(nats_msg_ack(msgs[i]));
            done++;
        }
        nats_msgs_free(msgs, n);
    }
    nats_consumer_info *info = NULL;
    CHECK(nats_pull_consumer_info(pc, &info));
    unsigned long long left = (unsigned long long)nats_consumer_info_num_pending(info);
    nats_consumer_info_free(info);
    nats_pull_consumer_free(pc);
    printf("archived %ld records (%ld bounces), %llu left, %ld out of order\n", done, bounces, left, out_of_order);
    return done == count && out_of_order == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[2], "publish") != 0 && strcmp(argv[2], "consume") != 0)) {
        fprintf(stderr, "usage: %s <url> publish|consume <count>\n", argv[0]);
        return 2;
    }
    long count = atol(argv[3]);
    nats_connection *conn = NULL;
    CHECK(nats_connect_url(argv[1], &conn));
    nats_jetstream *js = NULL;
    CHECK(nats_jetstream_new(conn, NULL, &js));
    ensure_stream(js);
    int rc = strcmp(argv[2], "publish") == 0 ? publish(js, count) : consume(js, count);
    nats_jetstream_free(js);
    CHECK(nats_connection_drain(conn, 5000));
    nats_connection_free(conn);
    return rc;
}
