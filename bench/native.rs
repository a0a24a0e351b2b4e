//! The native async-nats baseline for bench/run.sh: the same scenarios as bench/bench.c where
//! they apply (publish-only, pub->sub, sequential request latency, 64 concurrent requesters,
//! JetStream async publish), written as idiomatic async Rust. Prints RESULT lines.
//! Run: cargo run --release --example bench_native -- <url> [scenario]

use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [16, 256, 4096, 65536];

fn scale() -> f64 {
    std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

fn reps() -> usize {
    std::env::var("BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3)
}

fn count_for(size: usize, at16: u64) -> u64 {
    let n = match size {
        s if s >= 65536 => at16 / 100,
        s if s >= 4096 => at16 / 10,
        s if s >= 256 => at16 / 2,
        _ => at16,
    };
    ((n as f64 * scale()) as u64).max(100)
}

fn scaled(n: u64) -> u64 {
    ((n as f64 * scale()) as u64).max(10)
}

fn result(metric: &str, size: usize, v: f64) {
    println!("RESULT native {metric} {size} {v:.3}");
}

async fn connect(url: &str) -> async_nats::Client {
    async_nats::connect(url).await.expect("connect")
}

async fn bench_pub(url: &str, size: usize) -> f64 {
    let n = count_for(size, 2_000_000);
    let c = connect(url).await;
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let t = Instant::now();
    for _ in 0..n {
        c.publish("bench.pub", payload.clone()).await.unwrap();
    }
    c.flush().await.unwrap();
    // A round trip, as the C flush does: the server has everything.
    let _ = c.request(format!("{}.probe", c.new_inbox()), "".into()).await;
    n as f64 / t.elapsed().as_secs_f64()
}

async fn bench_pubsub(url: &str, size: usize) -> (f64, u64) {
    let n = count_for(size, 1_000_000);
    let (sc, pc) = (connect(url).await, connect(url).await);
    let mut sub = sc.subscribe("bench.ps").await.unwrap();
    sc.flush().await.unwrap();
    let _ = sc.request(format!("{}.probe", sc.new_inbox()), "".into()).await;
    let got = Arc::new(AtomicU64::new(0));
    let g = got.clone();
    let reader = tokio::spawn(async move {
        let mut last = Instant::now();
        while let Ok(Some(_m)) = tokio::time::timeout(Duration::from_secs(1), sub.next()).await {
            last = Instant::now();
            if g.fetch_add(1, Ordering::Relaxed) + 1 == n {
                break;
            }
        }
        last
    });
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let t = Instant::now();
    for _ in 0..n {
        pc.publish("bench.ps", payload.clone()).await.unwrap();
    }
    pc.flush().await.unwrap();
    let last = reader.await.unwrap();
    let got = got.load(Ordering::Relaxed);
    (got as f64 / (last - t).as_secs_f64(), n - got)
}

async fn responder(c: async_nats::Client, subject: &str) -> tokio::task::JoinHandle<()> {
    let mut sub = c.subscribe(subject.to_string()).await.unwrap();
    c.flush().await.unwrap();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(r) = m.reply {
                let _ = c.publish(r, m.payload).await;
            }
        }
    })
}

async fn bench_req(url: &str) -> (f64, f64) {
    let n = scaled(20_000);
    let r = responder(connect(url).await, "bench.req").await;
    let q = connect(url).await;
    for _ in 0..200 {
        q.request("bench.req", "x".into()).await.unwrap();
    }
    let mut lat = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        q.request("bench.req", bytes::Bytes::from_static(&[b'x'; 16])).await.unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    r.abort();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (lat[(lat.len() - 1) / 2], lat[((lat.len() - 1) as f64 * 0.99) as usize])
}

async fn bench_req64(url: &str) -> f64 {
    let per = scaled(100_000) / 64;
    let r = responder(connect(url).await, "bench.req64").await;
    let q = connect(url).await;
    let t = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    q.request("bench.req64", bytes::Bytes::from_static(&[b'x'; 16])).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    r.abort();
    (per * 64) as f64 / t.elapsed().as_secs_f64()
}

async fn bench_js(url: &str, size: usize) -> f64 {
    let n = scaled(if size > 16 { 100_000 } else { 200_000 });
    let c = connect(url).await;
    let js = async_nats::jetstream::new(c);
    let _ = js.delete_stream("BENCH").await;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "BENCH".into(),
        subjects: vec!["bench.js.>".into()],
        storage: async_nats::jetstream::stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap();
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let t = Instant::now();
    let mut acks = futures_util::stream::FuturesUnordered::new();
    for _ in 0..n {
        acks.push(std::future::IntoFuture::into_future(js.publish("bench.js.a", payload.clone()).await.unwrap()));
        while acks.len() >= 4000 {
            acks.next().await.unwrap().unwrap();
        }
    }
    while let Some(a) = acks.next().await {
        a.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..reps()).map(|_| f()).fold(0.0, f64::max)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let only = args.get(2).cloned().unwrap_or_else(|| "all".into());
    let want = |s: &str| only == "all" || only == s;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if want("pub") {
        for s in SIZES {
            result("pub_msgs_per_s", s, best(|| rt.block_on(bench_pub(&url, s))));
        }
    }
    if want("pubsub") {
        for s in SIZES {
            let mut lost = 0;
            let v = best(|| {
                let (v, l) = rt.block_on(bench_pubsub(&url, s));
                lost += l;
                v
            });
            result("pubsub_msgs_per_s", s, v);
            result("pubsub_lost", s, lost as f64);
        }
    }
    if want("req") {
        let (mut p50, mut p99) = (f64::MAX, f64::MAX);
        for _ in 0..reps() {
            let (a, b) = rt.block_on(bench_req(&url));
            if a < p50 {
                (p50, p99) = (a, b);
            }
        }
        result("req_p50_us", 16, p50);
        result("req_p99_us", 16, p99);
        result("req64_per_s", 16, best(|| rt.block_on(bench_req64(&url))));
    }
    if want("js") {
        for s in [16, 256] {
            result("js_async_msgs_per_s", s, best(|| rt.block_on(bench_js(&url, s))));
        }
    }
}
