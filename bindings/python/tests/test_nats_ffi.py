"""Tests of the Python binding against real servers: NATS_URL (plain) and NATS_JS_URL
(JetStream), started by tests/bindings.rs."""
import asyncio
import os
import threading
import time

import pytest

import nats_ffi

URL = os.environ["NATS_URL"]
JS_URL = os.environ["NATS_JS_URL"]


def wait_for(cond, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def test_publish_subscribe_with_a_callback_in_order():
    got = []
    with nats_ffi.connect(URL, name="py") as nc:
        sub = nc.subscribe("py.cb", lambda m: got.append(m.data))
        nc.flush()
        for i in range(200):
            nc.publish("py.cb", b"%d" % i)
        nc.flush()
        assert wait_for(lambda: len(got) == 200)
        assert got == [b"%d" % i for i in range(200)]
        assert sub.delivered == 200
        sub.unsubscribe()


def test_iterator_and_headers():
    with nats_ffi.connect(URL) as nc:
        sub = nc.subscribe("py.it")
        nc.flush()
        nc.publish("py.it", b"one", headers={"Mail-Id": "42"})
        nc.publish("py.it", "two")
        it = iter(sub)
        first, second = next(it), next(it)
        assert (first.data, first.headers) == (b"one", {"Mail-Id": "42"})
        assert second.data == b"two" and second.subject == "py.it"
        with pytest.raises(nats_ffi.NatsError) as e:
            sub.next(timeout=0.05)
        assert e.value.status == nats_ffi.lib.NATS_ERR_TIMEOUT


def test_request_reply_and_errors():
    with nats_ffi.connect(URL) as server, nats_ffi.connect(URL) as client:
        server.subscribe("py.svc", lambda m: server.respond(m, b"re: " + m.data))
        server.flush()
        assert client.request("py.svc", b"hi", timeout=5).data == b"re: hi"
        with pytest.raises(nats_ffi.NatsError) as e:
            client.request("py.nobody", b"", timeout=1)
        assert e.value.status == nats_ffi.lib.NATS_ERR_NO_RESPONDERS
        with pytest.raises(nats_ffi.NatsError) as e:
            client.publish("bad subject", b"x")
        assert e.value.status == nats_ffi.lib.NATS_ERR_INVALID_SUBJECT
        assert "nats_publish" in str(e.value)


def test_a_raising_callback_does_not_stop_delivery():
    seen = []

    def callback(m):
        if m.data == b"boom":
            raise RuntimeError("from a callback")
        seen.append(m.data)

    with nats_ffi.connect(URL) as nc:
        nc.subscribe("py.raise", callback)
        nc.flush()
        nc.publish("py.raise", b"boom")
        nc.publish("py.raise", b"ok")
        nc.flush()
        assert wait_for(lambda: seen == [b"ok"])


def test_jetstream_publish_fetch_and_consume():
    with nats_ffi.connect(JS_URL) as nc:
        js = nc.jetstream()
        js.add_stream("PY", ["py.js.>"])
        for i in range(5):
            assert js.publish("py.js.x", b"m%d" % i) == ("PY", i + 1)
        consumer = js.pull_consumer("PY", "worker")
        got = []
        while len(got) < 5:
            batch = consumer.fetch(batch=5, timeout=2)
            for m in batch:
                m.ack()
            got += [m.data for m in batch]
        assert got == [b"m%d" % i for i in range(5)]
        assert consumer.fetch(batch=1, timeout=0.2) == []
        for i in range(5, 10):
            js.publish("py.js.x", b"m%d" % i)
        consumed = []

        def on_msg(m):
            m.ack()
            consumed.append(m.data)

        sub = js.pull_consumer("PY", "consumer").consume(on_msg)
        assert wait_for(lambda: len(consumed) == 10)
        assert consumed == [b"m%d" % i for i in range(10)]
        sub.unsubscribe()


def test_key_value():
    with nats_ffi.connect(JS_URL) as nc:
        kv = nc.jetstream().key_value("pykv")
        r1 = kv.put("k", b"v1")
        r2 = kv.put("k", "v2")
        assert r2 > r1
        assert kv.get("k") == b"v2"
        assert kv.get("missing") is None


def test_asyncio_loop_runs_every_callback_on_its_thread():
    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        threads = set()
        received = []
        nc = nats_ffi.connect(URL, loop=loop)

        def on_msg(m):
            threads.add(threading.get_ident())
            received.append(m.data)
            if len(received) == 50 and not done.done():
                done.set_result(True)

        nc.subscribe("py.aio", on_msg)
        nc.flush()
        for i in range(50):
            nc.publish("py.aio", b"%d" % i)
        await asyncio.wait_for(done, 20)
        nc.close()
        return threads, received

    threads, received = asyncio.run(main())
    assert threads == {threading.get_ident()}, "callbacks ran on the loop's thread"
    assert received == [b"%d" % i for i in range(50)]
