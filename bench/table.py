"""Turns the RESULT lines of bench/run.sh into the markdown table of the README."""
import sys

NAMES = {
    "pub_msgs_per_s": ("publish only (flush at end)", "msgs/s", True),
    "pub_caller_cpu_ns": ("publish: CPU of the publishing thread per message", "ns", False),
    "pubsub_msgs_per_s": ("pub -> sub, 2 connections", "msgs/s", True),
    "pubsub_lost": ("pub -> sub: messages lost (all reps)", "msgs", False),
    "req_p50_us": ("request/reply sequential p50", "us", False),
    "req_p99_us": ("request/reply sequential p99", "us", False),
    "req_sendasap_p50_us": ("request/reply p50, nats.c SendAsap", "us", False),
    "req_sendasap_p99_us": ("request/reply p99, nats.c SendAsap", "us", False),
    "req64_per_s": ("requests, 64 concurrent requesters", "req/s", True),
    "svc_req64_per_s": ("service endpoint (counted, timed), 64 concurrent requesters", "req/s", True),
    "subs10k_subscribe_ms": ("10 000 subscriptions: time to subscribe", "ms", False),
    "subs10k_bytes_per_sub": ("10 000 subscriptions: RSS per subscription", "bytes", False),
    "subs10k_msgs_per_s": ("10 000 subscriptions: delivery rate", "msgs/s", True),
    "subs10k_lost": ("10 000 subscriptions: lost", "msgs", False),
    "pool_subs10k_subscribe_ms": ("shared pool: 10 000 subscriptions, time to subscribe", "ms", False),
    "pool_subs10k_bytes_per_sub": ("shared pool: 10 000 subscriptions, RSS per subscription", "bytes", False),
    "pool_subs10k_msgs_per_s": ("shared pool: 10 000 subscriptions, delivery rate", "msgs/s", True),
    "pool_subs10k_lost": ("shared pool: 10 000 subscriptions, lost", "msgs", False),
    "pool_pubsub_msgs_per_s": ("shared pool: pub -> sub", "msgs/s", True),
    "pool_pubsub_lost": ("shared pool: pub -> sub, lost", "msgs", False),
    "pool_req_p50_us": ("shared pool: request/reply p50 (responder pooled)", "us", False),
    "pool_req_p99_us": ("shared pool: request/reply p99 (responder pooled)", "us", False),
    "dispatch_pubsub_msgs_per_s": ("dispatcher thread: pub -> sub", "msgs/s", True),
    "dispatch_pubsub_lost": ("dispatcher thread: pub -> sub, lost", "msgs", False),
    "dispatch_req_p50_us": ("dispatcher thread: request/reply p50 (responder dispatched)", "us", False),
    "dispatch_req_p99_us": ("dispatcher thread: request/reply p99 (responder dispatched)", "us", False),
    "idle_conn_kib": ("RSS per idle connection", "KiB", False),
    "js_async_msgs_per_s": ("JetStream async publish (acked)", "msgs/s", True),
    "js_sync_msgs_per_s": ("JetStream sync publish", "msgs/s", True),
    "obj100m_put_s": ("object store: put 100 MB from a file", "s", False),
    "obj100m_get_s": ("object store: get 100 MB into a file (digest checked)", "s", False),
    "obj100m_peak_rss_added_mib": ("object store: peak RSS added by the put and get", "MiB", False),
}


def combine(metric, old, new):
    """One client's repeated measurements (bench/run.sh runs some scenarios in turns): lost
    messages add up, otherwise the best counts (highest rate, lowest time or memory)."""
    if old is None:
        return new
    if metric.endswith("lost"):
        return old + new
    higher = NAMES.get(metric, (metric, "", True))[2]
    return max(old, new) if higher else min(old, new)


rows = {}
order = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 5 or parts[0] != "RESULT":
        continue
    _, client, metric, size, value = parts
    key = (metric, int(size))
    if key not in rows:
        rows[key] = {}
        order.append(key)
    rows[key][client] = combine(metric, rows[key].get(client), float(value))


def fmt(v):
    if v is None:
        return ""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 10 and v != int(v):
        return f"{v:.2f}"
    return f"{v:.1f}" if v != int(v) else f"{v:.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return ""
    return f"{a / b:.2f}x"


print("| scenario | size | wire limit | nats-ffi | nats.c | async-nats | ours / nats.c | ours / async-nats | ours / wire | MB/s (ours) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    metric, size = key
    r = rows[key]
    name, unit, higher = NAMES.get(metric, (metric, "", True))
    ours, natsc, native, wire = r.get("ours"), r.get("natsc"), r.get("native"), r.get("wire")
    if metric == "req_p50_us" and natsc is None:
        pass
    if metric in ("req_sendasap_p50_us", "req_sendasap_p99_us"):
        ours = rows.get((metric.replace("sendasap_", ""), size), {}).get("ours")
    mbs = f"{ours * size / 1e6:.1f}" if unit == "msgs/s" and ours and size else ""
    note = "" if higher else " (lower is better)"
    print(
        f"| {name} ({unit}){note} | {size if size else ''} | {fmt(wire)} | {fmt(ours)} | {fmt(natsc)} | {fmt(native)} "
        f"| {ratio(ours, natsc)} | {ratio(ours, native)} | {ratio(ours, wire)} | {mbs} |"
    )
