// test_cxx <url>: the header used from C++17.
#include <nats_ffi.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

// The callback rule for C++: no exception may escape a callback (it cannot cross the library
// and would terminate the process). Wrap the handler: noexcept, catch everything, and keep
// what went wrong for the application's own thread.
struct Handler {
    std::atomic<int> handled{0};
    std::atomic<int> exceptions{0};
    void on_message(const nats_msg *msg) {
        std::string body(static_cast<const char *>(nats_msg_data(msg)), nats_msg_data_len(msg));
        if (body == "bad") throw std::runtime_error("cannot handle this record");
        ++handled;
    }
    static void callback(void *ud, nats_subscription *, const nats_msg *msg) noexcept {
        auto *self = static_cast<Handler *>(ud);
        try {
            self->on_message(msg);
        } catch (...) {
            ++self->exceptions;
        }
    }
};

static int passed = 0, failed = 0;
#define EXPECT(cond) ((cond) ? (void)++passed : (void)(++failed, std::fprintf(stderr, "FAILED %s: %s\n", #cond, nats_last_error())))

int main(int argc, char **argv) {
    std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    nats_connection *nc = nullptr;
    EXPECT(nats_connect_url(url.c_str(), &nc) == NATS_OK);
    if (!nc) { std::printf("%d passed, %d failed\n", passed, failed); return 1; }
    std::atomic<int> got{0};
    nats_subscription *sub = nullptr;
    auto cb = [](void *ud, nats_subscription *, const nats_msg *msg) {
        auto *counter = static_cast<std::atomic<int> *>(ud);
        if (std::string(static_cast<const char *>(nats_msg_data(msg)), nats_msg_data_len(msg)) == "c++") ++*counter;
    };
    EXPECT(nats_subscribe(nc, "cxx", cb, &got, &sub) == NATS_OK);
    EXPECT(nats_connection_flush(nc, 5000) == NATS_OK);
    EXPECT(nats_publish(nc, "cxx", "c++", 3) == NATS_OK);
    EXPECT(nats_connection_flush(nc, 5000) == NATS_OK);
    for (int i = 0; i < 500 && got.load() < 1; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT(got.load() == 1);
    // A handler that throws on one message: caught inside the callback, delivery goes on.
    Handler handler;
    nats_subscription *guarded = nullptr;
    EXPECT(nats_subscribe(nc, "cxx.records", &Handler::callback, &handler, &guarded) == NATS_OK);
    EXPECT(nats_connection_flush(nc, 5000) == NATS_OK);
    for (const char *body : {"ok", "bad", "ok", "bad", "ok"}) EXPECT(nats_publish(nc, "cxx.records", body, std::strlen(body)) == NATS_OK);
    EXPECT(nats_connection_flush(nc, 5000) == NATS_OK);
    for (int i = 0; i < 500 && handler.handled.load() + handler.exceptions.load() < 5; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT(handler.handled.load() == 3);
    EXPECT(handler.exceptions.load() == 2);
    nats_subscription_free(guarded);
    nats_msg *reply = nullptr;
    EXPECT(nats_request(nc, "nobody", nullptr, 0, 1000, &reply) == NATS_ERR_NO_RESPONDERS);
    EXPECT(reply == nullptr);
    nats_subscription_free(sub);
    nats_connection_free(nc);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
