// test_hpp <url> <js-url>: the C++17 wrapper (include/nats_ffi.hpp) against real servers:
// RAII and moves, exceptions with status and detail, std::function callbacks freed through
// user_data_free, exceptions in callbacks contained, request/reply, async request,
// synchronous subscriptions, headers, the dispatcher, JetStream publish and key-value.
// Prints "N passed, M failed"; exits 0 only if none failed.
#include <nats_ffi.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
namespace nf = nats_ffi;

static int passed = 0, failed = 0;
#define EXPECT(cond)                                                                 \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            std::fprintf(stderr, "%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

template <typename F>
static bool wait_for(F done, std::chrono::milliseconds limit = 20000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return done();
}

static void test_core(const std::string &url) {
    nf::connection nc = nf::connection::connect(nf::options().servers({url}).name("hpp"));
    // Callback subscription: a lambda with captures; its std::function is freed once the
    // subscription ends (the shared_ptr it holds is released).
    auto alive = std::make_shared<int>(0);
    std::atomic<int> got{0};
    {
        nf::subscription sub = nc.subscribe("hpp.a", [alive, &got](const nf::message_view &m) {
            if (m.subject() == "hpp.a" && m.data() == "x") got++;
        });
        EXPECT(alive.use_count() == 2);
        nc.flush();
        for (int i = 0; i < 10; i++) nc.publish("hpp.a", "x");
        nc.flush();
        EXPECT(wait_for([&] { return got.load() == 10; }));
        nf::subscription moved = std::move(sub);  // handles move; the old one is empty
        EXPECT(sub.raw() == nullptr && moved.raw() != nullptr);
        EXPECT(moved.delivered() == 10);
    }
    EXPECT(wait_for([&] { return alive.use_count() == 1; }));

    // Request/reply with a responder lambda; a blocking request and an async one.
    nf::subscription svc = nc.subscribe("hpp.svc", [&nc](const nf::message_view &m) {
        nc.respond(m, "re: " + std::string(m.data()));
    });
    nc.flush();
    nf::message reply = nc.request("hpp.svc", "hi", 5000ms);
    EXPECT(reply.data() == "re: hi");
    std::mutex mu;
    std::condition_variable cv;
    std::string async_reply;
    nc.request_async("hpp.svc", "async", 5000ms, [&](nats_status st, const nf::message_view *r) {
        std::lock_guard<std::mutex> lock(mu);
        async_reply = st == NATS_OK && r ? std::string(r->data()) : "failed";
        cv.notify_all();
    });
    {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, 10s, [&] { return !async_reply.empty(); });
    }
    EXPECT(async_reply == "re: async");

    // Errors are exceptions carrying the status and the library's detail.
    try {
        nc.publish("bad subject", "x");
        EXPECT(false);
    } catch (const nf::error &e) {
        EXPECT(e.status() == NATS_ERR_INVALID_SUBJECT);
        EXPECT(std::string(e.what()).find("nats_publish") != std::string::npos);
    }
    try {
        nc.request("hpp.nobody", "x", 1000ms);
        EXPECT(false);
    } catch (const nf::error &e) {
        EXPECT(e.status() == NATS_ERR_NO_RESPONDERS);
    }

    // A callback that throws: the exception reaches the handler, never the library, and
    // delivery goes on.
    std::atomic<int> contained{0};
    nf::set_callback_exception_handler([&](std::exception_ptr p) {
        try {
            std::rethrow_exception(p);
        } catch (const std::runtime_error &) {
            contained++;
        }
    });
    std::atomic<int> after{0};
    nf::subscription thrower = nc.subscribe("hpp.throw", [&](const nf::message_view &m) {
        if (m.data() == "throw") throw std::runtime_error("from a callback");
        after++;
    });
    nc.flush();
    nc.publish("hpp.throw", "throw");
    nc.publish("hpp.throw", "ok");
    nc.flush();
    EXPECT(wait_for([&] { return contained.load() == 1 && after.load() == 1; }));
    nf::set_callback_exception_handler(nullptr);

    // Synchronous subscription, headers through the C API on raw(), clone.
    nf::subscription sync = nc.subscribe_sync("hpp.sync");
    nc.flush();
    nats_msg *m = nullptr;
    EXPECT(nats_msg_new("hpp.sync", nullptr, "body", 4, &m) == NATS_OK);
    EXPECT(nats_msg_header_set(m, "Mail-Id", "42") == NATS_OK);
    EXPECT(nats_publish_msg(nc.raw(), m) == NATS_OK);
    nats_msg_free(m);
    nf::message got_sync = sync.next(5000ms);
    EXPECT(got_sync.data() == "body");
    EXPECT(got_sync.header("Mail-Id") == std::optional<std::string>("42"));
    nf::message copy = got_sync.view().clone();
    EXPECT(copy.subject() == "hpp.sync");
    try {
        sync.next(50ms);
        EXPECT(false);
    } catch (const nf::error &e) {
        EXPECT(e.status() == NATS_ERR_TIMEOUT);
    }
    EXPECT(nc.new_inbox().rfind("_INBOX.", 0) == 0);
    nc.drain(5000ms);
    EXPECT(nc.is_closed());
}

static void test_dispatcher(const std::string &url) {
    nf::dispatcher d;
    nf::connection nc = nf::connection::connect(nf::options().servers({url}).use_dispatcher(d));
    std::thread::id where;
    int n = 0;
    nf::subscription sub = nc.subscribe("hpp.d", [&](const nf::message_view &) {
        where = std::this_thread::get_id();
        n++;
    });
    nc.flush();
    nc.publish("hpp.d", "x");
    nc.flush();
    EXPECT(d.wait(10s));
    EXPECT(d.dispatch() == 1);
    EXPECT(n == 1 && where == std::this_thread::get_id());
    EXPECT(d.fd() >= 0);
}

static void test_jetstream(const std::string &url) {
    nf::connection nc = nf::connection::connect(url);
    nf::jetstream js(nc);
    const char *subjects[] = {"hpp.js.>"};
    nats_stream_config cfg;
    EXPECT(nats_stream_config_init(&cfg) == NATS_OK);
    cfg.name = "HPP";
    cfg.subjects = subjects;
    cfg.subjects_count = 1;
    EXPECT(nats_jetstream_stream_create(js.raw(), &cfg, nullptr) == NATS_OK);
    nf::pub_ack ack = js.publish("hpp.js.x", "one");
    EXPECT(ack.stream == "HPP" && ack.sequence == 1 && !ack.duplicate);
    nf::kv bucket = js.key_value("hppkv");
    uint64_t rev = bucket.put("k", "v1");
    EXPECT(rev >= 1);
    EXPECT(bucket.get("k") == std::optional<std::string>("v1"));
    EXPECT(!bucket.get("missing").has_value());
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    try {
        test_core(argv[1]);
        test_dispatcher(argv[1]);
        test_jetstream(argv[2]);
    } catch (const nf::error &e) {
        std::fprintf(stderr, "unexpected: %s\n", e.what());
        failed++;
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
