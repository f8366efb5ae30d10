//! The Tokio peer of eddy's benchmark: every workload of
//! shared/bench/WORKLOADS.md, written against Tokio 1.24, printing the same
//! JSON lines as eddy's bench (bench/eddy.c).
//!
//!   tokio-peer --workload W|all --flavor F|all [--runs N]
//!   tokio-peer --workload http_hello --flavor F --serve
//!
//! Flavors: `current_thread` (current-thread runtime, `tokio::spawn`),
//! `localset` (current-thread runtime driving a `LocalSet`, `spawn_local`),
//! `multi_thread` (multi-thread runtime, 2 workers).
//!
//! Every workload body runs as a task spawned inside the runtime (so that on
//! the multi-thread runtime it runs on a worker, not on the thread inside
//! `block_on`), and times itself. One warm-up run, then `runs` timed runs;
//! the line reports their median and every sample.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, LocalSet};

// ---- the workloads' sizes (WORKLOADS.md) -----------------------------------
const SPAWN_MANY: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;
const PING_PONG_ROUNDS: usize = 1_000;
const CHAIN: usize = 1_000;
const CHANNEL_MSGS: u64 = 1_000_000;
const CHANNEL_CAP: usize = 1_024;
const TIMER_TASKS: u64 = 100_000;
const IDLE_TASKS: usize = 100_000;

const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

const WORKLOADS: &[&str] = &[
    "spawn_many",
    "spawn_many_remote",
    "yield_many",
    "ping_pong",
    "chained_spawn",
    "channel",
    "timers",
    "idle_memory",
];
const FLAVORS: &[&str] = &["current_thread", "localset", "multi_thread"];

// ---- spawning in the flavor under test --------------------------------------

/// True when the runtime drives a LocalSet: tasks are then spawned with
/// `spawn_local` (pinned to the LocalSet's thread), as eddy's LocalSet peer.
static LOCALSET: AtomicBool = AtomicBool::new(false);

fn sp<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if LOCALSET.load(Ordering::Relaxed) {
        tokio::task::spawn_local(fut)
    } else {
        tokio::spawn(fut)
    }
}

struct Rt {
    rt: Runtime,
    local: Option<LocalSet>,
}

impl Rt {
    fn new(flavor: &str) -> Rt {
        let rt = match flavor {
            "current_thread" | "localset" => Builder::new_current_thread().enable_all().build(),
            "multi_thread" => Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
            _ => die(&format!("unknown flavor {flavor}")),
        }
        .unwrap_or_else(|e| die(&format!("runtime: {e}")));
        let local = (flavor == "localset").then(LocalSet::new);
        LOCALSET.store(local.is_some(), Ordering::Relaxed);
        Rt { rt, local }
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        match &self.local {
            Some(set) => self.rt.block_on(set.run_until(fut)),
            None => self.rt.block_on(fut),
        }
    }

    /// Runs one workload body as a task of the runtime; returns its result.
    fn run<Fut>(&self, body: Fut) -> Fut::Output
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.block_on(async move { sp(body).await.expect("body task") })
    }
}

fn die(msg: &str) -> ! {
    eprintln!("tokio-peer: {msg}");
    std::process::exit(2)
}

fn nanos(d: Duration) -> f64 {
    d.as_nanos() as f64
}

// ---- workloads: each returns the figure of one run -------------------------

/// From inside the runtime, spawn 10,000 empty tasks, then join every
/// handle. ns per task.
async fn spawn_many() -> f64 {
    let mut handles = Vec::with_capacity(SPAWN_MANY);
    let t = Instant::now();
    for _ in 0..SPAWN_MANY {
        handles.push(sp(async {}));
    }
    for h in handles {
        h.await.unwrap();
    }
    nanos(t.elapsed()) / SPAWN_MANY as f64
}

/// From another OS thread (a blocking-pool thread), spawn 10,000 empty
/// tasks through the runtime's handle while the runtime waits (this task is
/// suspended joining the spawner); then join them all. ns per task.
async fn spawn_many_remote() -> f64 {
    let handle = Handle::current();
    let t = Instant::now();
    let handles = tokio::task::spawn_blocking(move || {
        let mut hs = Vec::with_capacity(SPAWN_MANY);
        for _ in 0..SPAWN_MANY {
            hs.push(handle.spawn(async {}));
        }
        hs
    })
    .await
    .unwrap();
    for h in handles {
        h.await.unwrap();
    }
    nanos(t.elapsed()) / SPAWN_MANY as f64
}

/// 200 tasks, each yields 1,000 times, all joined. ns per yield.
async fn yield_many() -> f64 {
    let mut handles = Vec::with_capacity(YIELD_TASKS);
    let t = Instant::now();
    for _ in 0..YIELD_TASKS {
        handles.push(sp(async {
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    nanos(t.elapsed()) / (YIELD_TASKS * YIELDS) as f64
}

/// 1,000 rounds in flight at once; each round is a task that spawns a peer,
/// and they exchange one message each way over two oneshot channels; all
/// rounds joined (the peers are detached). ns per round.
async fn ping_pong() -> f64 {
    let mut handles = Vec::with_capacity(PING_PONG_ROUNDS);
    let t = Instant::now();
    for _ in 0..PING_PONG_ROUNDS {
        handles.push(sp(async {
            let (ping_tx, ping_rx) = oneshot::channel::<u64>();
            let (pong_tx, pong_rx) = oneshot::channel::<u64>();
            drop(sp(async move {
                let v = ping_rx.await.unwrap();
                pong_tx.send(v + 1).unwrap();
            }));
            ping_tx.send(1).unwrap();
            assert_eq!(pong_rx.await.unwrap(), 2);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    nanos(t.elapsed()) / PING_PONG_ROUNDS as f64
}

/// Task `k` of the chain: spawns task `k + 1`, or, being the last, signals.
fn chain_link(k: usize, done: oneshot::Sender<()>) {
    if k == CHAIN {
        done.send(()).unwrap();
    } else {
        drop(sp(async move { chain_link(k + 1, done) }));
    }
}

/// A chain of 1,000 tasks, each spawning the next; the last one signals
/// completion. ns per spawn.
async fn chained_spawn() -> f64 {
    let (done_tx, done_rx) = oneshot::channel();
    let t = Instant::now();
    drop(sp(async move { chain_link(1, done_tx) }));
    done_rx.await.unwrap();
    nanos(t.elapsed()) / CHAIN as f64
}

/// 1,000,000 u64 through a bounded channel (capacity 1,024), one producer
/// task to one consumer task. ns per message.
async fn channel() -> f64 {
    let (tx, mut rx) = mpsc::channel::<u64>(CHANNEL_CAP);
    let t = Instant::now();
    let producer = sp(async move {
        for i in 0..CHANNEL_MSGS {
            tx.send(i).await.unwrap();
        }
    });
    let consumer = sp(async move {
        let mut sum = 0u64;
        while let Some(v) = rx.recv().await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.await.unwrap();
    let sum = consumer.await.unwrap();
    let el = t.elapsed();
    assert_eq!(sum, CHANNEL_MSGS * (CHANNEL_MSGS - 1) / 2);
    nanos(el) / CHANNEL_MSGS as f64
}

/// 100,000 tasks, task i sleeps 1 + (i*7919 mod 10) ms, all joined.
/// (wall time - 10 ms) / 100,000.
async fn timers() -> f64 {
    let mut handles = Vec::with_capacity(TIMER_TASKS as usize);
    let t = Instant::now();
    for i in 0..TIMER_TASKS {
        let ms = 1 + (i * 7919) % 10;
        handles.push(sp(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    (nanos(t.elapsed()) - 10e6) / TIMER_TASKS as f64
}

extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

/// Resident set size in bytes, from /proc/self/statm.
fn rss_bytes() -> f64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0
}

static PARKED: AtomicUsize = AtomicUsize::new(0);

/// 100,000 tasks each parked on its own oneshot receiver; RSS delta per
/// parked task (baseline after malloc_trim(0)); then all released, joined.
async fn idle_memory() -> f64 {
    PARKED.store(0, Ordering::SeqCst);
    unsafe { malloc_trim(0) };
    let base = rss_bytes();
    let mut txs = Vec::with_capacity(IDLE_TASKS);
    let mut handles = Vec::with_capacity(IDLE_TASKS);
    for _ in 0..IDLE_TASKS {
        let (tx, rx) = oneshot::channel::<u64>();
        txs.push(tx);
        handles.push(sp(async move {
            PARKED.fetch_add(1, Ordering::Relaxed);
            rx.await.unwrap()
        }));
    }
    while PARKED.load(Ordering::Relaxed) < IDLE_TASKS {
        tokio::task::yield_now().await;
    }
    let parked = rss_bytes();
    for tx in txs {
        tx.send(7).unwrap();
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 7);
    }
    (parked - base) / IDLE_TASKS as f64
}

// ---- http_hello: the server (the driver script runs wrk against it) --------

/// Serves one keep-alive connection: answers every complete request
/// (a header block ending in CRLFCRLF) with the fixed 13-byte body.
async fn http_conn(mut s: TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::with_capacity(HTTP_RESPONSE.len() * 16);
    let mut have = 0usize;
    loop {
        let n = match s.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have += n;
        let mut start = 0usize;
        while let Some(end) = find_crlfcrlf(&buf[start..have]) {
            start += end + 4;
            out.extend_from_slice(HTTP_RESPONSE);
        }
        if start == 0 && have == buf.len() {
            return; // a header block larger than the buffer: give up
        }
        buf.copy_within(start..have, 0);
        have -= start;
        if !out.is_empty() {
            if s.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn find_crlfcrlf(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

async fn http_serve() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    println!("listening 127.0.0.1:{port}");
    std::io::stdout().flush().unwrap();
    loop {
        let (s, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => continue,
        };
        let _ = s.set_nodelay(true);
        drop(sp(http_conn(s)));
    }
}

// ---- driver ------------------------------------------------------------------

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn one_run(rt: &Rt, workload: &str) -> f64 {
    match workload {
        "spawn_many" => rt.run(spawn_many()),
        "spawn_many_remote" => rt.run(spawn_many_remote()),
        "yield_many" => rt.run(yield_many()),
        "ping_pong" => rt.run(ping_pong()),
        "chained_spawn" => rt.run(chained_spawn()),
        "channel" => rt.run(channel()),
        "timers" => rt.run(timers()),
        "idle_memory" => rt.run(idle_memory()),
        _ => die(&format!("unknown workload {workload}")),
    }
}

fn n_of(workload: &str) -> u64 {
    match workload {
        "spawn_many" | "spawn_many_remote" => SPAWN_MANY as u64,
        "yield_many" => (YIELD_TASKS * YIELDS) as u64,
        "ping_pong" => PING_PONG_ROUNDS as u64,
        "chained_spawn" => CHAIN as u64,
        "channel" => CHANNEL_MSGS,
        "timers" => TIMER_TASKS,
        "idle_memory" => IDLE_TASKS as u64,
        _ => 0,
    }
}

fn bench(workload: &str, flavor: &str, runs: usize) {
    let rt = Rt::new(flavor);
    one_run(&rt, workload); // warm-up
    let samples: Vec<f64> = (0..runs).map(|_| one_run(&rt, workload)).collect();
    let key = if workload == "idle_memory" { "bytes_per_task" } else { "ns_per_op" };
    let list: Vec<String> = samples.iter().map(|x| format!("{x:.2}")).collect();
    println!(
        "{{\"workload\":\"{workload}\",\"flavor\":\"{flavor}\",\"n\":{},\"{key}\":{:.2},\"runs\":{runs},\"samples\":[{}]}}",
        n_of(workload),
        median(&samples),
        list.join(",")
    );
    std::io::stdout().flush().unwrap();
}

fn main() {
    let mut workload = String::from("all");
    let mut flavor = String::from("all");
    let mut runs = 7usize;
    let mut serve = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().unwrap_or_else(|| die(&format!("{name} needs a value")));
        match a.as_str() {
            "--workload" => workload = val("--workload"),
            "--flavor" => flavor = val("--flavor"),
            "--runs" => runs = val("--runs").parse().unwrap_or_else(|_| die("bad --runs")),
            "--serve" => serve = true,
            "-h" | "--help" => {
                println!("usage: tokio-peer --workload W|all --flavor F|all [--runs N] | --workload http_hello --flavor F --serve");
                return;
            }
            _ => die(&format!("unknown argument {a}")),
        }
    }
    if serve || workload == "http_hello" {
        if !serve || flavor == "all" {
            die("http_hello: run with --serve and one --flavor (the driver runs wrk)");
        }
        let rt = Rt::new(&flavor);
        rt.run(http_serve());
        return;
    }
    let workloads: Vec<&str> = if workload == "all" { WORKLOADS.to_vec() } else { vec![workload.as_str()] };
    let flavors: Vec<&str> = if flavor == "all" { FLAVORS.to_vec() } else { vec![flavor.as_str()] };
    if runs == 0 {
        die("--runs must be at least 1");
    }
    for w in &workloads {
        for f in &flavors {
            bench(w, f, runs);
        }
    }
}
