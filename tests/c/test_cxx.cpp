// test_cxx <url>: the header used from C++17.
#include <nats_ffi.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

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
    nats_msg *reply = nullptr;
    EXPECT(nats_request(nc, "nobody", nullptr, 0, 1000, &reply) == NATS_ERR_NO_RESPONDERS);
    EXPECT(reply == nullptr);
    nats_subscription_free(sub);
    nats_connection_free(nc);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
