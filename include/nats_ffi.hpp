/**
 * @file nats_ffi.hpp
 * @brief Header-only C++17 wrapper over the C API of nats-ffi (include/nats_ffi.h).
 *
 * - Handles are move-only RAII objects (`connection`, `subscription`, `message`, `options`,
 *   `dispatcher`, `jetstream`, `kv`); `raw()` gives the C handle for anything not wrapped.
 * - Every failure throws `nats_ffi::error`, carrying the `nats_status` and the library's
 *   explanation (`nats_last_error()`).
 * - Callbacks are `std::function`s; the library frees them through `user_data_free` when the
 *   subscription ends. An exception thrown by a callback never crosses into the library:
 *   it goes to the handler set with `set_callback_exception_handler` (default: dropped).
 * - Thread safety is the C API's: connections and subscriptions may be used from any
 *   thread; callbacks run where the connection's executor runs them (see nats_ffi.h).
 */
#ifndef NATS_FFI_HPP
#define NATS_FFI_HPP

#include <nats_ffi.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nats_ffi {

/// A failed call: the status and the library's explanation.
class error : public std::runtime_error {
public:
    error(nats_status status, const std::string &what) : std::runtime_error(what), status_(status) {}
    nats_status status() const noexcept { return status_; }

private:
    nats_status status_;
};

namespace detail {

inline void check(nats_status s, const char *call) {
    if (s != NATS_OK)
        throw error(s, std::string(call) + ": " + nats_status_str(s) + " (" + nats_last_error() + ")");
}

template <typename T, void (*Free)(T *)>
struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)>
using handle = std::unique_ptr<T, deleter<T, Free>>;

inline std::function<void(std::exception_ptr)> &exception_handler() {
    static std::function<void(std::exception_ptr)> handler;
    return handler;
}

/// Runs a user callback; nothing it throws escapes.
template <typename F>
void guarded(F &&f) noexcept {
    try {
        f();
    } catch (...) {
        try {
            if (auto &handler = exception_handler()) handler(std::current_exception());
        } catch (...) {
        }
    }
}

inline uint64_t ms(std::chrono::milliseconds d) { return d.count() < 0 ? 0 : static_cast<uint64_t>(d.count()); }

}  // namespace detail

/// Receives (on the callback's thread) every exception a callback throws. Set it once, before
/// connecting; by default such exceptions are dropped.
inline void set_callback_exception_handler(std::function<void(std::exception_ptr)> handler) {
    detail::exception_handler() = std::move(handler);
}

class message;

/// A message borrowed for the duration of a callback.
class message_view {
public:
    explicit message_view(const nats_msg *m) noexcept : m_(m) {}
    std::string_view subject() const { return nats_msg_subject(m_); }
    std::string_view data() const {
        return {static_cast<const char *>(nats_msg_data(m_)), nats_msg_data_len(m_)};
    }
    std::optional<std::string_view> reply() const {
        const char *r = nats_msg_reply(m_);
        if (!r) return std::nullopt;
        return std::string_view(r);
    }
    /// The first value of header `name`, if present.
    std::optional<std::string> header(const std::string &name) const {
        const char *value = nullptr;
        if (nats_msg_header_get(m_, name.c_str(), &value) != NATS_OK || !value) return std::nullopt;
        return std::string(value);
    }
    /// An owned copy, to keep after the callback.
    message clone() const;
    const nats_msg *raw() const noexcept { return m_; }

private:
    const nats_msg *m_;
};

/// An owned message (from a request, `subscription::next` or `message_view::clone`).
class message {
public:
    explicit message(nats_msg *m) noexcept : h_(m) {}
    message_view view() const noexcept { return message_view(h_.get()); }
    std::string_view subject() const { return view().subject(); }
    std::string_view data() const { return view().data(); }
    std::optional<std::string_view> reply() const { return view().reply(); }
    std::optional<std::string> header(const std::string &name) const { return view().header(name); }
    nats_msg *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_msg, nats_msg_free> h_;
};

inline message message_view::clone() const {
    nats_msg *out = nullptr;
    detail::check(nats_msg_clone(m_, &out), "nats_msg_clone");
    return message(out);
}

/// Runs callbacks on the application's thread (see `nats_dispatcher` in nats_ffi.h).
class dispatcher {
public:
    dispatcher() {
        nats_dispatcher *d = nullptr;
        detail::check(nats_dispatcher_new(&d), "nats_dispatcher_new");
        h_.reset(d);
    }
    /// Readable while callbacks wait.
    int fd() const noexcept { return nats_dispatcher_fd(h_.get()); }
    /// Runs waiting callbacks here; how many ran.
    size_t dispatch(size_t max = SIZE_MAX) {
        size_t ran = 0;
        detail::check(nats_dispatcher_dispatch(h_.get(), max, &ran), "nats_dispatcher_dispatch");
        return ran;
    }
    /// Whether callbacks wait within `timeout`.
    bool wait(std::chrono::milliseconds timeout) {
        nats_status s = nats_dispatcher_wait(h_.get(), detail::ms(timeout));
        if (s == NATS_ERR_TIMEOUT) return false;
        detail::check(s, "nats_dispatcher_wait");
        return true;
    }
    nats_dispatcher *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_dispatcher, nats_dispatcher_free> h_;
};

/// Connection options; every setter returns `*this`.
class options {
public:
    options() {
        nats_options *o = nullptr;
        detail::check(nats_options_new(&o), "nats_options_new");
        h_.reset(o);
    }
    options &servers(const std::vector<std::string> &urls) {
        std::vector<const char *> list;
        for (const auto &u : urls) list.push_back(u.c_str());
        detail::check(nats_options_set_servers(h_.get(), list.data(), list.size()), "nats_options_set_servers");
        return *this;
    }
    options &name(const std::string &name) {
        detail::check(nats_options_set_name(h_.get(), name.c_str()), "nats_options_set_name");
        return *this;
    }
    options &user_password(const std::string &user, const std::string &password) {
        detail::check(nats_options_set_user_password(h_.get(), user.c_str(), password.c_str()),
                      "nats_options_set_user_password");
        return *this;
    }
    options &token(const std::string &token) {
        detail::check(nats_options_set_token(h_.get(), token.c_str()), "nats_options_set_token");
        return *this;
    }
    options &no_echo(bool on) {
        detail::check(nats_options_set_no_echo(h_.get(), on), "nats_options_set_no_echo");
        return *this;
    }
    options &max_reconnects(uint32_t max) {
        detail::check(nats_options_set_max_reconnects(h_.get(), max), "nats_options_set_max_reconnects");
        return *this;
    }
    options &connection_timeout(std::chrono::milliseconds t) {
        detail::check(nats_options_set_connection_timeout_ms(h_.get(), detail::ms(t)),
                      "nats_options_set_connection_timeout_ms");
        return *this;
    }
    options &request_timeout(std::chrono::milliseconds t) {
        detail::check(nats_options_set_request_timeout_ms(h_.get(), detail::ms(t)),
                      "nats_options_set_request_timeout_ms");
        return *this;
    }
    options &inbox_prefix(const std::string &prefix) {
        detail::check(nats_options_set_inbox_prefix(h_.get(), prefix.c_str()), "nats_options_set_inbox_prefix");
        return *this;
    }
    /// Callbacks on the library-wide delivery pool.
    options &shared_delivery(bool on) {
        detail::check(nats_options_use_shared_delivery(h_.get(), on), "nats_options_use_shared_delivery");
        return *this;
    }
    /// Callbacks on the application's thread, through `d`.
    options &use_dispatcher(dispatcher &d) {
        detail::check(nats_options_set_dispatcher(h_.get(), d.raw()), "nats_options_set_dispatcher");
        return *this;
    }
    nats_options *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_options, nats_options_free> h_;
};

using message_handler = std::function<void(const message_view &)>;
using reply_handler = std::function<void(nats_status, const message_view *)>;

namespace detail {

struct message_callback {
    message_handler f;
};
inline void on_message(void *ud, nats_subscription *, const nats_msg *m) {
    auto *cb = static_cast<message_callback *>(ud);
    guarded([&] { cb->f(message_view(m)); });
}
inline void free_message_callback(void *ud) { delete static_cast<message_callback *>(ud); }

struct reply_callback {
    reply_handler f;
};
inline void on_reply(void *ud, nats_status status, const nats_msg *reply) {
    std::unique_ptr<reply_callback> cb(static_cast<reply_callback *>(ud));  // called once
    guarded([&] {
        if (reply) {
            message_view view(reply);
            cb->f(status, &view);
        } else {
            cb->f(status, nullptr);
        }
    });
}

}  // namespace detail

/// A subscription; freeing it (destruction) unsubscribes.
class subscription {
public:
    explicit subscription(nats_subscription *s) noexcept : h_(s) {}
    /// The next message of a synchronous subscription.
    message next(std::chrono::milliseconds timeout) {
        nats_msg *m = nullptr;
        detail::check(nats_subscription_next_msg(h_.get(), detail::ms(timeout), &m), "nats_subscription_next_msg");
        return message(m);
    }
    void unsubscribe() { detail::check(nats_subscription_unsubscribe(h_.get()), "nats_subscription_unsubscribe"); }
    void auto_unsubscribe(uint64_t max) {
        detail::check(nats_subscription_auto_unsubscribe(h_.get(), max), "nats_subscription_auto_unsubscribe");
    }
    void drain(std::chrono::milliseconds timeout) {
        detail::check(nats_subscription_drain(h_.get(), detail::ms(timeout)), "nats_subscription_drain");
    }
    uint64_t delivered() const noexcept { return nats_subscription_delivered(h_.get()); }
    nats_subscription *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_subscription, nats_subscription_free> h_;
};

/// A connection; destruction closes it (flushing what was published).
class connection {
public:
    /// Connects to `urls` (comma-separated).
    static connection connect(const std::string &urls) {
        nats_connection *c = nullptr;
        detail::check(nats_connect_url(urls.c_str(), &c), "nats_connect_url");
        return connection(c);
    }
    static connection connect(const options &o) {
        nats_connection *c = nullptr;
        detail::check(nats_connect(o.raw(), &c), "nats_connect");
        return connection(c);
    }

    void publish(const std::string &subject, std::string_view data) {
        detail::check(nats_publish(h_.get(), subject.c_str(), data.data(), data.size()), "nats_publish");
    }
    void publish(const std::string &subject, const std::string &reply, std::string_view data) {
        detail::check(nats_publish_with_reply(h_.get(), subject.c_str(), reply.c_str(), data.data(), data.size()),
                      "nats_publish_with_reply");
    }
    /// Answers `request` (its reply subject).
    void respond(const message_view &request, std::string_view data) {
        detail::check(nats_msg_respond(h_.get(), request.raw(), data.data(), data.size()), "nats_msg_respond");
    }
    message request(const std::string &subject, std::string_view data, std::chrono::milliseconds timeout) {
        nats_msg *reply = nullptr;
        detail::check(nats_request(h_.get(), subject.c_str(), data.data(), data.size(), detail::ms(timeout), &reply),
                      "nats_request");
        return message(reply);
    }
    /// `cb(status, reply or nullptr)` is called once, on the connection's reply lane.
    void request_async(const std::string &subject, std::string_view data, std::chrono::milliseconds timeout,
                       reply_handler cb) {
        auto holder = std::make_unique<detail::reply_callback>(detail::reply_callback{std::move(cb)});
        detail::check(nats_request_async(h_.get(), subject.c_str(), data.data(), data.size(), detail::ms(timeout),
                                         detail::on_reply, holder.get()),
                      "nats_request_async");
        holder.release();  // the library calls on_reply once, which frees it
    }
    subscription subscribe(const std::string &subject, message_handler cb) { return subscribe_to(subject, nullptr, std::move(cb)); }
    subscription queue_subscribe(const std::string &subject, const std::string &queue, message_handler cb) {
        return subscribe_to(subject, queue.c_str(), std::move(cb));
    }
    subscription subscribe_sync(const std::string &subject) {
        nats_subscription *s = nullptr;
        detail::check(nats_subscribe_sync(h_.get(), subject.c_str(), &s), "nats_subscribe_sync");
        return subscription(s);
    }
    void flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        detail::check(nats_connection_flush(h_.get(), detail::ms(timeout)), "nats_connection_flush");
    }
    void drain(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        detail::check(nats_connection_drain(h_.get(), detail::ms(timeout)), "nats_connection_drain");
    }
    void close() noexcept { nats_connection_close(h_.get()); }
    bool is_closed() const noexcept { return nats_connection_is_closed(h_.get()); }
    std::string new_inbox() {
        char *s = nullptr;
        detail::check(nats_connection_new_inbox(h_.get(), &s), "nats_connection_new_inbox");
        std::string inbox(s);
        nats_string_free(s);
        return inbox;
    }
    nats_connection *raw() const noexcept { return h_.get(); }

private:
    explicit connection(nats_connection *c) noexcept : h_(c) {}
    subscription subscribe_to(const std::string &subject, const char *queue, message_handler cb) {
        auto holder = std::make_unique<detail::message_callback>(detail::message_callback{std::move(cb)});
        nats_subscription *s = nullptr;
        detail::check(nats_subscribe_ex(h_.get(), subject.c_str(), queue, detail::on_message, holder.get(),
                                        detail::free_message_callback, &s),
                      "nats_subscribe_ex");
        holder.release();  // owned by the subscription now: freed through user_data_free
        return subscription(s);
    }
    detail::handle<nats_connection, nats_connection_free> h_;
};

/// A JetStream publish acknowledgement.
struct pub_ack {
    std::string stream;
    uint64_t sequence;
    bool duplicate;
};

/// A key-value bucket.
class kv {
public:
    explicit kv(nats_kv *k) noexcept : h_(k) {}
    uint64_t put(const std::string &key, std::string_view value) {
        uint64_t revision = 0;
        detail::check(nats_kv_put(h_.get(), key.c_str(), value.data(), value.size(), &revision), "nats_kv_put");
        return revision;
    }
    /// The current value, or nothing when the key has none.
    std::optional<std::string> get(const std::string &key) {
        nats_kv_entry *e = nullptr;
        nats_status s = nats_kv_get(h_.get(), key.c_str(), &e);
        if (s == NATS_ERR_NOT_FOUND) return std::nullopt;
        detail::check(s, "nats_kv_get");
        std::string value(static_cast<const char *>(nats_kv_entry_value(e)), nats_kv_entry_value_len(e));
        nats_kv_entry_free(e);
        return value;
    }
    nats_kv *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_kv, nats_kv_free> h_;
};

/// A JetStream context on a connection (which must outlive it).
class jetstream {
public:
    explicit jetstream(connection &c) {
        nats_jetstream *js = nullptr;
        detail::check(nats_jetstream_new(c.raw(), nullptr, &js), "nats_jetstream_new");
        h_.reset(js);
    }
    pub_ack publish(const std::string &subject, std::string_view data) {
        nats_pub_ack *ack = nullptr;
        detail::check(nats_jetstream_publish(h_.get(), subject.c_str(), data.data(), data.size(), nullptr, &ack),
                      "nats_jetstream_publish");
        pub_ack out{nats_pub_ack_stream(ack), nats_pub_ack_sequence(ack), nats_pub_ack_duplicate(ack)};
        nats_pub_ack_free(ack);
        return out;
    }
    /// Creates bucket `bucket` with the library's defaults (fine when an identical one exists).
    kv key_value(const std::string &bucket) {
        nats_kv_config cfg;
        detail::check(nats_kv_config_init(&cfg), "nats_kv_config_init");
        cfg.bucket = bucket.c_str();
        nats_kv *k = nullptr;
        detail::check(nats_jetstream_kv_create(h_.get(), &cfg, &k), "nats_jetstream_kv_create");
        return kv(k);
    }
    nats_jetstream *raw() const noexcept { return h_.get(); }

private:
    detail::handle<nats_jetstream, nats_jetstream_free> h_;
};

}  // namespace nats_ffi

#endif  // NATS_FFI_HPP
