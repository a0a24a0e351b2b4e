"""nats_ffi: Python bindings of the nats-ffi C library (cffi, ABI mode).

    import nats_ffi
    with nats_ffi.connect("nats://127.0.0.1:4222", name="mta") as nc:
        nc.publish("mail.delivered", b"user@example.com", headers={"Mail-Id": "42"})
        sub = nc.subscribe("mail.>", lambda msg: print(msg.subject, msg.data))
        reply = nc.request("policy.check", b"?", timeout=1.0)

The library is found through NATS_FFI_LIB (a path), else the system's linker path
(`libnats_ffi.so.0`, installed by scripts/install.sh), else the source tree's target/.
Callbacks run on the library's delivery threads (the GIL is taken for them), or, with
`connect(..., loop=asyncio_loop)`, on the asyncio loop's thread through a dispatcher whose
file descriptor the loop watches (`loop.add_reader`).
"""

import ctypes.util
import os
import threading

from cffi import FFI

__all__ = ["connect", "Connection", "Subscription", "Msg", "NatsError", "JetStream", "KeyValue"]

_here = os.path.dirname(os.path.abspath(__file__))
ffi = FFI()
with open(os.path.join(_here, "nats_ffi_cdef.h")) as _f:
    ffi.cdef(_f.read())


def _load():
    candidates = [os.environ.get("NATS_FFI_LIB"), ctypes.util.find_library("nats_ffi")]
    tree = os.path.abspath(os.path.join(_here, "..", "..", "..", "target"))
    candidates += [os.path.join(tree, p, "libnats_ffi.so") for p in ("release", "debug")]
    errors = []
    for path in filter(None, candidates):
        try:
            return ffi.dlopen(path)
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise ImportError("libnats_ffi not found (set NATS_FFI_LIB): " + "; ".join(errors))


lib = _load()
_check_version = lib.nats_ffi_check_version(lib.NATS_FFI_VERSION_MAJOR, lib.NATS_FFI_VERSION_MINOR)
if _check_version != lib.NATS_OK:
    raise ImportError(ffi.string(lib.nats_last_error()).decode())


class NatsError(Exception):
    """A failed call: `status` is the nats_status code, `name` its description."""

    def __init__(self, status, call):
        self.status = status
        self.name = ffi.string(lib.nats_status_str(status)).decode()
        detail = ffi.string(lib.nats_last_error()).decode()
        super().__init__("%s: %s (%s)" % (call, self.name, detail))


def _check(status, call):
    if status != lib.NATS_OK:
        raise NatsError(status, call)


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _ms(seconds):
    return max(0, int(seconds * 1000))


class Msg:
    """A message: subject, reply, data (bytes), headers (dict of the first values)."""

    __slots__ = ("subject", "reply", "data", "headers", "_raw")

    def __init__(self, raw, owned):
        self.subject = ffi.string(lib.nats_msg_subject(raw)).decode()
        reply = lib.nats_msg_reply(raw)
        self.reply = ffi.string(reply).decode() if reply != ffi.NULL else None
        self.data = bytes(ffi.buffer(lib.nats_msg_data(raw), lib.nats_msg_data_len(raw)))
        self.headers = {}
        keys, count = ffi.new("const char *const **"), ffi.new("size_t *")
        if lib.nats_msg_header_keys(raw, keys, count) == lib.NATS_OK:
            for i in range(count[0]):
                value = ffi.new("const char **")
                if lib.nats_msg_header_get(raw, keys[0][i], value) == lib.NATS_OK:
                    self.headers[ffi.string(keys[0][i]).decode()] = ffi.string(value[0]).decode()
        # Owned messages (requests, next_msg, fetch) keep the C message for ack/respond.
        self._raw = ffi.gc(raw, lib.nats_msg_free) if owned else None

    def ack(self):
        """Acknowledges a JetStream message (from fetch)."""
        if self._raw is None:
            raise NatsError(lib.NATS_ERR_INVALID_ARGUMENT, "ack: clone the message in the callback first")
        _check(lib.nats_msg_ack(self._raw), "nats_msg_ack")

    def __repr__(self):
        return "Msg(%r, %r)" % (self.subject, self.data)


def _new_msg(subject, data, reply, headers):
    out = ffi.new("nats_msg **")
    data = _b(data)
    _check(lib.nats_msg_new(_b(subject), _b(reply) if reply else ffi.NULL, data, len(data), out), "nats_msg_new")
    msg = ffi.gc(out[0], lib.nats_msg_free)
    for key, value in (headers or {}).items():
        _check(lib.nats_msg_header_set(msg, _b(key), _b(value)), "nats_msg_header_set")
    return msg


# Callbacks: one cffi callback per kind, dispatching to the Python callable registered under
# its user_data handle; the registry entry goes when the library calls user_data_free.
_callbacks = {}
_callbacks_lock = threading.Lock()


def _addr(p):
    return int(ffi.cast("uintptr_t", p))


def _register(fn):
    handle = ffi.new_handle(fn)
    with _callbacks_lock:
        _callbacks[_addr(handle)] = handle
    return handle


@ffi.callback("void(void *, nats_subscription *, const nats_msg *)")
def _on_msg(ud, sub, msg):
    try:
        ffi.from_handle(ud)(Msg(msg, owned=False))
    except Exception:  # never let an exception unwind into the library
        import traceback

        traceback.print_exc()


@ffi.callback("void(void *, nats_subscription *, const nats_msg *)")
def _on_js_msg(ud, sub, msg):
    # JetStream deliveries: an owned copy, so that the callback can acknowledge it.
    try:
        copy = ffi.new("nats_msg **")
        _check(lib.nats_msg_clone(msg, copy), "nats_msg_clone")
        ffi.from_handle(ud)(Msg(copy[0], owned=True))
    except Exception:
        import traceback

        traceback.print_exc()


@ffi.callback("void(void *)")
def _on_free(ud):
    with _callbacks_lock:
        _callbacks.pop(_addr(ud), None)


class Subscription:
    """A subscription. With a callback, messages go to it; without, iterate it (or call
    `next(timeout)`). `unsubscribe()`, or leaving a `with` block, stops it."""

    def __init__(self, raw, owner=None):
        self._raw = ffi.gc(raw, lib.nats_subscription_free)
        self._owner = owner  # the connection's list that keeps it alive

    def next(self, timeout=5.0):
        out = ffi.new("nats_msg **")
        _check(lib.nats_subscription_next_msg(self._raw, _ms(timeout), out), "nats_subscription_next_msg")
        return Msg(out[0], owned=True)

    def __iter__(self):
        while True:
            try:
                yield self.next(3600)
            except NatsError as e:
                if e.status in (lib.NATS_ERR_INVALID_SUBSCRIPTION, lib.NATS_ERR_CONNECTION_CLOSED):
                    return
                raise

    @property
    def delivered(self):
        return lib.nats_subscription_delivered(self._raw)

    def unsubscribe(self):
        status = lib.nats_subscription_unsubscribe(self._raw)
        if self._owner is not None and self in self._owner:
            self._owner.remove(self)
        _check(status, "nats_subscription_unsubscribe")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.nats_subscription_unsubscribe(self._raw)


class Connection:
    """A connection (a context manager: leaving the block closes it)."""

    def __init__(self, raw, dispatcher=None, loop=None):
        self._raw = ffi.gc(raw, lib.nats_connection_free)
        self._dispatcher = dispatcher
        self._loop = loop
        # Subscriptions live until unsubscribed or the connection closes, referenced or not.
        self._subscriptions = []

    def publish(self, subject, data=b"", reply=None, headers=None):
        if headers:
            _check(lib.nats_publish_msg(self._raw, _new_msg(subject, data, reply, headers)), "nats_publish_msg")
            return
        data = _b(data)
        if reply:
            _check(lib.nats_publish_with_reply(self._raw, _b(subject), _b(reply), data, len(data)), "nats_publish")
        else:
            _check(lib.nats_publish(self._raw, _b(subject), data, len(data)), "nats_publish")

    def request(self, subject, data=b"", timeout=5.0, headers=None):
        out = ffi.new("nats_msg **")
        if headers:
            msg = _new_msg(subject, data, None, headers)
            _check(lib.nats_request_msg(self._raw, msg, _ms(timeout), out), "nats_request_msg")
        else:
            data = _b(data)
            _check(lib.nats_request(self._raw, _b(subject), data, len(data), _ms(timeout), out), "nats_request")
        return Msg(out[0], owned=True)

    def subscribe(self, subject, callback=None, queue=None):
        out = ffi.new("nats_subscription **")
        if callback is None:
            if queue:
                _check(lib.nats_queue_subscribe_sync(self._raw, _b(subject), _b(queue), out), "nats_subscribe")
            else:
                _check(lib.nats_subscribe_sync(self._raw, _b(subject), out), "nats_subscribe_sync")
        else:
            handle = _register(callback)
            status = lib.nats_subscribe_ex(
                self._raw, _b(subject), _b(queue) if queue else ffi.NULL, _on_msg, handle, _on_free, out)
            if status != lib.NATS_OK:
                with _callbacks_lock:
                    _callbacks.pop(_addr(handle), None)
                raise NatsError(status, "nats_subscribe_ex")
        sub = Subscription(out[0], self._subscriptions)
        self._subscriptions.append(sub)
        return sub

    def respond(self, msg, data):
        """Answers `msg` (a request received by a callback or `next`)."""
        self.publish(msg.reply, data)

    def flush(self, timeout=5.0):
        _check(lib.nats_connection_flush(self._raw, _ms(timeout)), "nats_connection_flush")

    def drain(self, timeout=5.0):
        _check(lib.nats_connection_drain(self._raw, _ms(timeout)), "nats_connection_drain")

    def close(self):
        lib.nats_connection_close(self._raw)
        self._subscriptions.clear()
        if self._dispatcher is not None:
            if self._loop is not None:
                self._loop.remove_reader(lib.nats_dispatcher_fd(self._dispatcher))
            # The last callbacks (and the subscriptions' releases) run here.
            while lib.nats_dispatcher_wait(self._dispatcher, 50) == lib.NATS_OK:
                lib.nats_dispatcher_dispatch(self._dispatcher, ffi.cast("size_t", -1), ffi.NULL)

    @property
    def is_closed(self):
        return bool(lib.nats_connection_is_closed(self._raw))

    def jetstream(self):
        return JetStream(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class JetStream:
    """JetStream on a connection: publish, streams, pull consumers, key-value."""

    def __init__(self, conn):
        self._conn = conn
        out = ffi.new("nats_jetstream **")
        _check(lib.nats_jetstream_new(conn._raw, ffi.NULL, out), "nats_jetstream_new")
        self._raw = ffi.gc(out[0], lib.nats_jetstream_free)

    def add_stream(self, name, subjects, memory=True):
        cfg = ffi.new("nats_stream_config *")
        _check(lib.nats_stream_config_init(cfg), "nats_stream_config_init")
        keep = [ffi.new("char[]", _b(s)) for s in subjects]
        subjects_c = ffi.new("const char *[]", keep)
        name_c = ffi.new("char[]", _b(name))
        cfg.name, cfg.subjects, cfg.subjects_count = name_c, subjects_c, len(keep)
        if memory:
            cfg.storage = lib.NATS_STORAGE_MEMORY
        _check(lib.nats_jetstream_stream_create(self._raw, cfg, ffi.NULL), "nats_jetstream_stream_create")

    def publish(self, subject, data=b"", headers=None):
        """Publishes and waits for the acknowledgement: returns (stream, sequence)."""
        ack = ffi.new("nats_pub_ack **")
        if headers:
            msg = _new_msg(subject, data, None, headers)
            _check(lib.nats_jetstream_publish_msg(self._raw, msg, ffi.NULL, ack), "nats_jetstream_publish_msg")
        else:
            data = _b(data)
            _check(lib.nats_jetstream_publish(self._raw, _b(subject), data, len(data), ffi.NULL, ack),
                   "nats_jetstream_publish")
        try:
            return ffi.string(lib.nats_pub_ack_stream(ack[0])).decode(), lib.nats_pub_ack_sequence(ack[0])
        finally:
            lib.nats_pub_ack_free(ack[0])

    def pull_consumer(self, stream, durable):
        """Creates (or binds to) durable pull consumer `durable` on `stream`."""
        cfg = ffi.new("nats_consumer_config *")
        _check(lib.nats_consumer_config_init(cfg), "nats_consumer_config_init")
        durable_c = ffi.new("char[]", _b(durable))
        cfg.durable_name = durable_c
        _check(lib.nats_jetstream_consumer_create(self._raw, _b(stream), cfg, ffi.NULL), "nats_jetstream_consumer_create")
        out = ffi.new("nats_pull_consumer **")
        _check(lib.nats_jetstream_pull_consumer(self._raw, _b(stream), _b(durable), out), "nats_jetstream_pull_consumer")
        return PullConsumer(ffi.gc(out[0], lib.nats_pull_consumer_free))

    def key_value(self, bucket):
        cfg = ffi.new("nats_kv_config *")
        _check(lib.nats_kv_config_init(cfg), "nats_kv_config_init")
        bucket_c = ffi.new("char[]", _b(bucket))
        cfg.bucket = bucket_c
        out = ffi.new("nats_kv **")
        _check(lib.nats_jetstream_kv_create(self._raw, cfg, out), "nats_jetstream_kv_create")
        return KeyValue(ffi.gc(out[0], lib.nats_kv_free))


class PullConsumer:
    def __init__(self, raw):
        self._raw = raw
        self._consuming = []

    def consume(self, callback):
        """Consumes continuously: `callback(msg)` for each message (acknowledge with
        `msg.ack()`); returns the Subscription (unsubscribe to stop)."""
        handle = _register(lambda m: callback(m))
        out = ffi.new("nats_subscription **")
        status = lib.nats_pull_consumer_consume(self._raw, _on_js_msg, handle, _on_free, out)
        if status != lib.NATS_OK:
            with _callbacks_lock:
                _callbacks.pop(_addr(handle), None)
            raise NatsError(status, "nats_pull_consumer_consume")
        sub = Subscription(out[0], self._consuming)
        self._consuming.append(sub)
        return sub

    def fetch(self, batch=10, timeout=5.0):
        """Up to `batch` messages, waiting at most `timeout` seconds; acknowledge each."""
        msgs, count = ffi.new("nats_msg ***"), ffi.new("size_t *")
        status = lib.nats_pull_consumer_fetch(self._raw, batch, _ms(timeout), msgs, count)
        if status == lib.NATS_ERR_TIMEOUT:
            return []
        _check(status, "nats_pull_consumer_fetch")
        taken = []
        for i in range(count[0]):
            copy = ffi.new("nats_msg **")
            _check(lib.nats_msg_clone(msgs[0][i], copy), "nats_msg_clone")
            taken.append(Msg(copy[0], owned=True))
        lib.nats_msgs_free(msgs[0], count[0])
        return taken


class KeyValue:
    def __init__(self, raw):
        self._raw = raw

    def put(self, key, value):
        revision = ffi.new("uint64_t *")
        value = _b(value)
        _check(lib.nats_kv_put(self._raw, _b(key), value, len(value), revision), "nats_kv_put")
        return revision[0]

    def get(self, key):
        """The value (bytes), or None when the key has none."""
        entry = ffi.new("nats_kv_entry **")
        status = lib.nats_kv_get(self._raw, _b(key), entry)
        if status == lib.NATS_ERR_NOT_FOUND:
            return None
        _check(status, "nats_kv_get")
        try:
            return bytes(ffi.buffer(lib.nats_kv_entry_value(entry[0]), lib.nats_kv_entry_value_len(entry[0])))
        finally:
            lib.nats_kv_entry_free(entry[0])


def connect(servers="nats://127.0.0.1:4222", name=None, user=None, password=None, token=None,
            no_echo=False, max_reconnects=None, connection_timeout=None, request_timeout=None,
            inbox_prefix=None, shared_delivery=False, loop=None):
    """Connects. `servers` is a URL or a list of URLs. With `loop` (an asyncio event loop),
    every callback runs on that loop's thread: the connection's dispatcher fd is watched with
    `loop.add_reader`."""
    opts = ffi.gc(_new_options(), lib.nats_options_free)
    urls = [servers] if isinstance(servers, str) else list(servers)
    keep = [ffi.new("char[]", _b(u)) for u in urls]
    _check(lib.nats_options_set_servers(opts, ffi.new("const char *[]", keep), len(keep)), "nats_options_set_servers")
    if name:
        _check(lib.nats_options_set_name(opts, _b(name)), "nats_options_set_name")
    if user is not None:
        _check(lib.nats_options_set_user_password(opts, _b(user), _b(password or "")), "nats_options_set_user_password")
    if token is not None:
        _check(lib.nats_options_set_token(opts, _b(token)), "nats_options_set_token")
    _check(lib.nats_options_set_no_echo(opts, no_echo), "nats_options_set_no_echo")
    if max_reconnects is not None:
        _check(lib.nats_options_set_max_reconnects(opts, max_reconnects), "nats_options_set_max_reconnects")
    if connection_timeout is not None:
        _check(lib.nats_options_set_connection_timeout_ms(opts, _ms(connection_timeout)), "connection_timeout")
    if request_timeout is not None:
        _check(lib.nats_options_set_request_timeout_ms(opts, _ms(request_timeout)), "request_timeout")
    if inbox_prefix:
        _check(lib.nats_options_set_inbox_prefix(opts, _b(inbox_prefix)), "nats_options_set_inbox_prefix")
    _check(lib.nats_options_use_shared_delivery(opts, shared_delivery), "nats_options_use_shared_delivery")
    dispatcher = None
    if loop is not None:
        out = ffi.new("nats_dispatcher **")
        _check(lib.nats_dispatcher_new(out), "nats_dispatcher_new")
        dispatcher = ffi.gc(out[0], lib.nats_dispatcher_free)
        _check(lib.nats_options_set_dispatcher(opts, dispatcher), "nats_options_set_dispatcher")
    out = ffi.new("nats_connection **")
    _check(lib.nats_connect(opts, out), "nats_connect")
    conn = Connection(out[0], dispatcher, loop)
    if loop is not None:
        loop.add_reader(lib.nats_dispatcher_fd(dispatcher), lib.nats_dispatcher_dispatch, dispatcher,
                        ffi.cast("size_t", -1), ffi.NULL)
    return conn


def _new_options():
    out = ffi.new("nats_options **")
    _check(lib.nats_options_new(out), "nats_options_new")
    return out[0]
