/* secure <tls-url> <ca.pem> <user.creds>: connects over TLS, verifying the server against the
 * given CA, authenticating with a decentralized-auth credentials file (user JWT + NKey seed,
 * as `nsc` writes them); then one publish/subscribe round trip. Prints what it did. */
#include "common.h"

static void on_msg(void *ud, nats_subscription *sub, const nats_msg *msg) {
    (void)sub;
    printf("received %.*s on %s\n", (int)nats_msg_data_len(msg), (const char *)nats_msg_data(msg), nats_msg_subject(msg));
    counter_bump(ud);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <tls://host:port> <ca.pem> <user.creds>\n", argv[0]);
        return 2;
    }
    nats_options *o = NULL;
    CHECK(nats_options_new(&o));
    const char *servers[] = {argv[1]};
    CHECK(nats_options_set_servers(o, servers, 1));
    CHECK(nats_options_set_tls_required(o, true));
    CHECK(nats_options_set_certificate(o, argv[2]));      /* trust only this CA */
    CHECK(nats_options_set_credentials_file(o, argv[3])); /* JWT + seed; the seed never leaves */
    CHECK(nats_options_set_name(o, "secure-example"));
    nats_connection *conn = NULL;
    CHECK(nats_connect(o, &conn));
    nats_options_free(o);
    nats_server_info *info = NULL;
    CHECK(nats_connection_server_info(conn, &info));
    printf("connected to %s over TLS as a JWT user\n", nats_server_info_connected_url(info));
    nats_server_info_free(info);

    counter got = COUNTER_INIT(1);
    nats_subscription *sub = NULL;
    CHECK(nats_subscribe(conn, "secure.hello", on_msg, &got, &sub));
    CHECK(nats_connection_flush(conn, 5000));
    CHECK(nats_publish(conn, "secure.hello", "hello", 5));
    int ok = counter_wait(&got, 10);
    nats_subscription_free(sub);
    CHECK(nats_connection_drain(conn, 5000));
    nats_connection_free(conn);
    puts(ok ? "secure: round trip ok" : "secure: message not received");
    return ok ? 0 : 1;
}
