/* A mail-policy service and a client that finds it.
 *
 *   policy_service <url> serve <requests>   runs service "mail-policy" until it has answered
 *                                           <requests> requests, then prints its statistics
 *   policy_service <url> ask <sender>...    finds the service with $SRV.PING, then asks it
 *                                           about each sender
 *
 * Endpoints (group "policy"):
 *   policy.sender  "may this sender send?": "allow" or "deny"; an address without '@' is an
 *                  error response (400 "malformed address")
 *   policy.quota   messages the sender may still send this hour
 */
#include "common.h"
#include <string.h>

/* ---- the service ---- */

typedef struct {
    counter answered;
    pthread_mutex_t mu;
    long sent[8]; /* messages counted per sender, by a tiny hash */
} policy;

static void copy_payload(const nats_msg *m, char *buf, size_t cap) {
    size_t n = nats_msg_data_len(m) < cap - 1 ? nats_msg_data_len(m) : cap - 1;
    memcpy(buf, nats_msg_data(m), n);
    buf[n] = '\0';
}

static void on_sender(void *ud, nats_service_request *req) {
    policy *p = ud;
    char sender[256];
    copy_payload(nats_service_request_msg(req), sender, sizeof sender);
    const char *at = strchr(sender, '@');
    nats_status s;
    if (at == NULL) {
        s = nats_service_respond_error(req, 400, "malformed address", NULL, 0);
    } else {
        const char *verdict = strcmp(at + 1, "spam.example") == 0 ? "deny" : "allow";
        s = nats_service_respond(req, verdict, strlen(verdict));
    }
    if (s != NATS_OK) fprintf(stderr, "respond: %s (%s)\n", nats_status_str(s), nats_last_error());
    counter_bump(&p->answered);
}

static void on_quota(void *ud, nats_service_request *req) {
    policy *p = ud;
    char sender[256], answer[64];
    copy_payload(nats_service_request_msg(req), sender, sizeof sender);
    unsigned h = 0;
    for (const char *c = sender; *c; c++) h = h * 31u + (unsigned char)*c;
    pthread_mutex_lock(&p->mu);
    long left = 100 - ++p->sent[h % 8];
    pthread_mutex_unlock(&p->mu);
    int n = snprintf(answer, sizeof answer, "%ld", left);
    nats_status s = nats_service_respond(req, answer, (size_t)n);
    if (s != NATS_OK) fprintf(stderr, "respond: %s (%s)\n", nats_status_str(s), nats_last_error());
    counter_bump(&p->answered);
}

static int serve(const char *url, long requests) {
    policy p = {COUNTER_INIT(requests), PTHREAD_MUTEX_INITIALIZER, {0}};
    nats_connection *nc = NULL;
    nats_service *svc = NULL;
    nats_service_group *group = NULL;
    const char *keys[] = {"owner"}, *values[] = {"postmaster"};
    nats_service_config cfg = {0};
    cfg.name = "mail-policy";
    cfg.version = "1.0.0";
    cfg.description = "may this sender send?";
    cfg.metadata_keys = keys;
    cfg.metadata_values = values;
    cfg.metadata_count = 1;
    CHECK(nats_connect_url(url, &nc));
    CHECK(nats_service_add(nc, &cfg, &svc));
    CHECK(nats_service_add_group(svc, NULL, "policy", NULL, &group));
    nats_service_endpoint_config sender = {0}, quota = {0};
    sender.name = "sender";
    quota.name = "quota";
    CHECK(nats_service_add_endpoint(svc, group, &sender, on_sender, &p, NULL));
    CHECK(nats_service_add_endpoint(svc, group, &quota, on_quota, &p, NULL));
    nats_service_group_free(group);
    CHECK(nats_connection_flush(nc, 5000));
    printf("ready\n");
    fflush(stdout);

    int ok = counter_wait(&p.answered, 30);
    CHECK(nats_service_stop(svc, 5000));
    nats_service_statistics *st = NULL;
    CHECK(nats_service_stats(svc, &st));
    printf("%s %s id=%s\n", st->name, st->version, st->id);
    for (size_t i = 0; i < st->endpoints_count; i++) {
        const nats_endpoint_statistics *e = &st->endpoints[i];
        printf("%s on %s: %llu requests, %llu errors%s%s\n", e->name, e->subject, (unsigned long long)e->requests,
               (unsigned long long)e->errors, *e->last_error ? ", last " : "", e->last_error);
    }
    nats_service_statistics_free(st);
    nats_service_free(svc);
    nats_connection_free(nc);
    return ok ? 0 : 1;
}

/* ---- the client ---- */

/* The string value of "key" in a flat JSON object (enough for the discovery answers). */
static int json_string(const char *json, const char *key, char *out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = strstr(json, pattern);
    if (start == NULL) return 0;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= cap) return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return 1;
}

static nats_status ask_one(nats_connection *nc, const char *subject, const char *sender, nats_msg **reply) {
    return nats_request(nc, subject, sender, strlen(sender), 5000, reply);
}

static int ask(const char *url, int count, char **senders) {
    nats_connection *nc = NULL;
    nats_msg *pong = NULL;
    CHECK(nats_connect_url(url, &nc));
    /* Discovery: any instance of mail-policy answers a PING to its name. */
    CHECK(nats_request(nc, "$SRV.PING.mail-policy", NULL, 0, 5000, &pong));
    char json[1024], name[64], version[64], id[64];
    copy_payload(pong, json, sizeof json);
    nats_msg_free(pong);
    if (!json_string(json, "name", name, sizeof name) || !json_string(json, "version", version, sizeof version) ||
        !json_string(json, "id", id, sizeof id)) {
        fprintf(stderr, "unexpected PING answer: %s\n", json);
        return 1;
    }
    printf("found %s %s id=%s\n", name, version, id);

    int failures = 0;
    for (int i = 0; i < count; i++) {
        nats_msg *reply = NULL;
        nats_status s = ask_one(nc, "policy.sender", senders[i], &reply);
        if (s != NATS_OK) {
            fprintf(stderr, "policy.sender: %s (%s)\n", nats_status_str(s), nats_last_error());
            failures++;
            continue;
        }
        const char *error = NULL, *code = NULL;
        if (nats_msg_header_get(reply, "Nats-Service-Error", &error) == NATS_OK &&
            nats_msg_header_get(reply, "Nats-Service-Error-Code", &code) == NATS_OK) {
            printf("%s: error %s %s\n", senders[i], code, error);
        } else {
            printf("%s: %.*s\n", senders[i], (int)nats_msg_data_len(reply), (const char *)nats_msg_data(reply));
        }
        nats_msg_free(reply);
    }
    nats_msg *quota = NULL;
    CHECK(ask_one(nc, "policy.quota", senders[0], &quota));
    printf("quota of %s: %.*s left\n", senders[0], (int)nats_msg_data_len(quota), (const char *)nats_msg_data(quota));
    nats_msg_free(quota);
    nats_connection_free(nc);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[2], "serve") == 0) return serve(argv[1], strtol(argv[3], NULL, 10));
    if (argc >= 4 && strcmp(argv[2], "ask") == 0) return ask(argv[1], argc - 3, argv + 3);
    fprintf(stderr, "usage: %s <url> serve <requests> | %s <url> ask <sender>...\n", argv[0], argv[0]);
    return 2;
}
