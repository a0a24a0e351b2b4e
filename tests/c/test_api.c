/* test_api <url>: the C API exercised from C. Prints "N passed, M failed". */
#include "harness.h"

static atomic_int received, self_freed, user_data_freed;

static void count_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)sub;
    if (nats_msg_data_len(msg) == 5 && memcmp(nats_msg_data(msg), "hello", 5) == 0) atomic_fetch_add(&received, 1);
}

static void free_self_cb(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)ud; (void)msg;
    atomic_fetch_add(&self_freed, 1);
    nats_subscription_free(sub);
}

static void on_user_data_free(void *ud) {
    (void)ud;
    atomic_fetch_add(&user_data_freed, 1);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    int sentinel_target;
    void *sentinel = &sentinel_target;

    /* Status strings. */
    for (int code = 0; code <= 18; code++) EXPECT(nats_status_str(code) != NULL && strcmp(nats_status_str(code), "unknown status") != 0);
    EXPECT(strcmp(nats_status_str(999), "unknown status") == 0);
    EXPECT(nats_ffi_version() != NULL);

    /* Options: good and bad values; out-params untouched on failure. */
    nats_options *opts = NULL;
    EXPECT_STATUS(nats_options_new(NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_new(&opts), NATS_OK);
    EXPECT_STATUS(nats_options_set_name(NULL, "x"), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_name(opts, "\xff\xfe"), NATS_ERR_INVALID_UTF8);
    EXPECT_STATUS(nats_options_set_sender_capacity(opts, 0), NATS_ERR_INVALID_ARGUMENT);
    const char *bad_url[] = {"nats://host:notaport"};
    EXPECT_STATUS(nats_options_set_servers(opts, bad_url, 1), NATS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(nats_options_set_client_cert(opts, "/etc/hostname", NULL), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_options_set_token_file(opts, "/nonexistent/token"), NATS_ERR_IO);
    EXPECT(strstr(nats_last_error(), "/nonexistent/token") != NULL);
    EXPECT_STATUS(nats_options_set_certificate(opts, "/nonexistent/ca.pem"), NATS_ERR_IO);
    const char *servers[] = {url};
    EXPECT_STATUS(nats_options_set_servers(opts, servers, 1), NATS_OK);
    EXPECT_STATUS(nats_options_set_name(opts, "c-test"), NATS_OK);

    /* Connect failures. */
    nats_connection *nc = sentinel;
    EXPECT_STATUS(nats_connect_url("nats://127.0.0.1:1", &nc), NATS_ERR_CONNECTION_FAILED);
    EXPECT(nc == sentinel);
    EXPECT(strlen(nats_last_error()) > 0);

    /* Connect. */
    nc = NULL;
    EXPECT_STATUS(nats_connect(opts, &nc), NATS_OK);
    nats_options_free(opts);
    if (!nc) { printf("%d passed, %d failed\n", passed, failed + 1); return 1; }
    EXPECT(nats_connection_status(nc) == NATS_CONN_STATUS_CONNECTED);

    /* Pub/sub round trip. */
    nats_subscription *sub = NULL, *svc = NULL;
    EXPECT_STATUS(nats_subscribe(nc, "c.test.*", count_cb, NULL, &sub), NATS_OK);
    EXPECT_STATUS(nats_subscribe(nc, "c.upper", upper_cb, nc, &svc), NATS_OK);
    EXPECT_STATUS(nats_connection_flush(nc, 5000), NATS_OK);
    for (int i = 0; i < 20; i++) EXPECT_STATUS(nats_publish(nc, "c.test.x", "hello", 5), NATS_OK);
    EXPECT_STATUS(nats_connection_flush(nc, 5000), NATS_OK);
    for (int i = 0; i < 500 && atomic_load(&received) < 20; i++) sleep_ms(10);
    EXPECT(atomic_load(&received) == 20);

    /* Request/reply. */
    nats_msg *reply = sentinel;
    EXPECT_STATUS(nats_request(nc, "c.upper", "abc", 3, 5000, &reply), NATS_OK);
    EXPECT(reply != sentinel && nats_msg_data_len(reply) == 3 && memcmp(nats_msg_data(reply), "ABC", 3) == 0);
    nats_msg *copy = NULL;
    EXPECT_STATUS(nats_msg_clone(reply, &copy), NATS_OK);
    nats_msg_free(reply);
    EXPECT(copy && strncmp(nats_msg_subject(copy), "_INBOX.", 7) == 0 && nats_msg_reply(copy) == NULL);
    nats_msg_free(copy);
    reply = sentinel;
    EXPECT_STATUS(nats_request(nc, "nobody.listens", "x", 1, 2000, &reply), NATS_ERR_NO_RESPONDERS);
    EXPECT(reply == sentinel);

    /* Invalid subjects. */
    const char *bad[] = {"", "a b", "a..b", "a.*", "a.>", ".a", "a."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) EXPECT_STATUS(nats_publish(nc, bad[i], "x", 1), NATS_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(nats_publish(nc, NULL, "x", 1), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_publish(nc, "ok", NULL, 3), NATS_ERR_NULL_ARGUMENT);
    EXPECT_STATUS(nats_publish(nc, "ok", NULL, 0), NATS_OK);

    /* A callback freeing its own subscription; user_data_free exactly once. */
    nats_subscription *selfish = NULL;
    EXPECT_STATUS(nats_subscribe_ex(nc, "c.self", NULL, free_self_cb, NULL, on_user_data_free, &selfish), NATS_OK);
    EXPECT_STATUS(nats_connection_flush(nc, 5000), NATS_OK);
    for (int i = 0; i < 5; i++) EXPECT_STATUS(nats_publish(nc, "c.self", "x", 1), NATS_OK);
    EXPECT_STATUS(nats_connection_flush(nc, 5000), NATS_OK);
    for (int i = 0; i < 500 && atomic_load(&user_data_freed) < 1; i++) sleep_ms(10);
    sleep_ms(100);
    EXPECT(atomic_load(&self_freed) == 1);
    EXPECT(atomic_load(&user_data_freed) == 1);

    /* NULL-safety of accessors and frees. */
    EXPECT(nats_msg_subject(NULL) == NULL && nats_msg_reply(NULL) == NULL && nats_msg_data(NULL) == NULL);
    EXPECT(nats_msg_data_len(NULL) == 0);
    EXPECT(nats_connection_status(NULL) == NATS_CONN_STATUS_CLOSED);
    nats_msg_free(NULL);
    nats_options_free(NULL);
    nats_subscription_free(NULL);
    nats_connection_close(NULL);
    nats_connection_free(NULL);

    /* Close, then calls fail cleanly. */
    nats_connection_close(nc);
    EXPECT(nats_connection_status(nc) == NATS_CONN_STATUS_CLOSED);
    EXPECT_STATUS(nats_publish(nc, "c.test.x", "hello", 5), NATS_ERR_CONNECTION_CLOSED);
    nats_subscription_free(sub);
    nats_subscription_free(svc);
    nats_connection_free(nc);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
