// hello <url>: the C++ wrapper in a few lines: a service answering requests, a request to
// it, and a subscription with a lambda. Build: c++ -std=c++17 hello.cpp -lnats_ffi
#include <nats_ffi.hpp>

#include <atomic>
#include <cstdio>
#include <thread>

int main(int argc, char **argv) {
    using namespace std::chrono_literals;
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <url>\n", argv[0]);
        return 2;
    }
    try {
        auto nc = nats_ffi::connection::connect(nats_ffi::options().servers({argv[1]}).name("hello-cpp"));
        auto service = nc.subscribe("hello.svc", [&nc](const nats_ffi::message_view &m) {
            nc.respond(m, "hello, " + std::string(m.data()));
        });
        std::atomic<int> seen{0};
        auto events = nc.subscribe("hello.events", [&seen](const nats_ffi::message_view &m) {
            std::printf("event: %.*s\n", static_cast<int>(m.data().size()), m.data().data());
            seen++;
        });
        nc.flush();
        nats_ffi::message reply = nc.request("hello.svc", "world", 5000ms);
        std::printf("reply: %.*s\n", static_cast<int>(reply.data().size()), reply.data().data());
        nc.publish("hello.events", "delivered");
        nc.flush();
        for (int i = 0; i < 1000 && seen.load() == 0; i++) std::this_thread::sleep_for(10ms);
        return reply.data() == "hello, world" && seen.load() == 1 ? 0 : 1;
    } catch (const nats_ffi::error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
