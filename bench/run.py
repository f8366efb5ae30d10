#!/usr/bin/env python3
"""eddy vs Tokio: runs every workload of shared/bench/WORKLOADS.md on eddy
(build/release/bench_eddy) and on its Tokio peer (bench/peers/tokio), in
alternation, and prints medians and eddy/Tokio ratios (lower is better).

    bench/run.py [--quick] [--rounds R] [--runs N] [--http-secs S]
                 [--workloads a,b,...] [--out DIR] [--eddy BIN] [--tokio BIN]
                 [--bare BIN] [--floor BIN]

Each round runs, workload by workload, one process per (runtime, flavor),
eddy and Tokio taking turns (eddy first in odd rounds, Tokio first in even
ones), so that machine noise falls on both alike. Each process does one
warm-up run and N timed runs; a figure is the median of every timed run of
every round. http_hello starts each runtime's server on 127.0.0.1, loads it
with `wrk -t1 -c64 -dSs`, and reads the server's CPU time (utime + stime of
/proc/PID/stat) before and after. Each http_hello round also serves the
same load with no runtime at all (bench/peers/bare: one thread, one epoll or
io_uring loop), the floor under both runtimes' figures. Likewise each
yield_many round times eddy's context switch alone, round a ring of 200
stacks (bench/floor/switch_ring.c): no stackful task's yield costs less.

Writes DIR/results.jsonl (the JSON lines of WORKLOADS.md, a "runtime" field
added), DIR/results.txt (the table), DIR/targets.md (the LocalRuntime's
targets, as the README shows them) and DIR/ratios.svg (the chart).
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKLOADS = [
    "spawn_many", "spawn_many_remote", "yield_many", "ping_pong",
    "chained_spawn", "channel", "timers", "idle_memory", "http_hello",
]
EDDY_FLAVORS = ["local", "current_thread", "localset", "multi_thread"]
TOKIO_FLAVORS = ["current_thread", "localset", "multi_thread"]
# The no-runtime servers of http_hello (bench/peers/bare/http.c).
BARE_FLAVORS = ["epoll", "io_uring"]
# The floor under yield_many (bench/floor/switch_ring.c, bench_switch_floor).
FLOOR_FLAVOR = "switch_ring"

# eddy flavor -> the Tokio flavors it is compared with (the better one wins).
PEERS = {
    "local": ["current_thread", "localset"],
    "current_thread": ["current_thread"],
    "localset": ["localset"],
    "multi_thread": ["multi_thread"],
}

# The targets for eddy's LocalRuntime (flavor "local"), against the
# better of Tokio's current_thread and localset: ("ratio", max) or
# ("abs", max) for an absolute figure of eddy's.
TARGETS = {
    "spawn_many": ("ratio", 0.5),
    "spawn_many_remote": ("ratio", 0.5),
    "ping_pong": ("ratio", 0.5),
    "chained_spawn": ("ratio", 0.5),
    "yield_many": ("ratio", 0.25),
    "channel": ("ratio", 0.25),
    "timers": ("ratio", 0.7),
    "http_hello": ("ratio", 1.0),
    "idle_memory": ("abs", 4.5 * 1024),
}

# Short workloads get more timed runs per process (a run of chained_spawn
# takes about 0.1 ms), so that their medians are as steady as the others'.
RUNS_SCALE = {"spawn_many": 5, "spawn_many_remote": 5, "yield_many": 2,
              "ping_pong": 3, "chained_spawn": 10}

# Workloads that use channels; eddy reports which flavor of them it used.
CHANNEL_WORKLOADS = ("ping_pong", "chained_spawn", "channel", "idle_memory")

UNIT_KEY = {"idle_memory": "bytes_per_task", "http_hello": "cpu_us_per_req"}
N_OF = {
    "spawn_many": 10000, "spawn_many_remote": 10000, "yield_many": 200000,
    "ping_pong": 1000, "chained_spawn": 1000, "channel": 1000000,
    "timers": 100000, "idle_memory": 100000,
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def key_of(workload):
    return UNIT_KEY.get(workload, "ns_per_op")


# ---- micro workloads ---------------------------------------------------------

def run_micro(binary, runtime, workload, flavor, runs, timeout):
    """Runs one (workload, flavor) in a fresh process; returns its parsed
    JSON line (a dict), or a dict with "skipped"/"error"."""
    cmd = [binary, "--workload", workload, "--flavor", flavor, "--runs", str(runs)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        return {"error": err}
    return json.loads(lines[-1])


# ---- http_hello --------------------------------------------------------------

def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def http_check(port):
    """One request by hand: the server must answer with the 13-byte body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"Hello, World!" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nHello, World!")


def parse_wrk(out):
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not m or not rps:
        return None
    return {
        "requests": int(m.group(1)),
        "req_per_s": float(rps.group(1)),
        "errors": (errs.group(1) if errs else "") + (f" non-2xx {non2xx.group(1)}" if non2xx else ""),
    }


def run_http(binary, runtime, flavor, secs, warmup_secs=1):
    """Starts the server, loads it with wrk, stops it. Returns a dict with
    cpu_us_per_req and req_per_s, or "skipped"/"error"."""
    cmd = [binary, "--workload", "http_hello", "--flavor", flavor, "--serve"]
    errf = tempfile.TemporaryFile(mode="w+")  # not a pipe: it could fill and stall the server
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)

    def server_stderr():
        errf.seek(0)
        lines = errf.read().strip().splitlines()
        return (" (server stderr: " + " | ".join(lines[-3:]) + ")") if lines else ""

    try:
        ready, _, _ = select.select([p.stdout], [], [], 15)
        line = p.stdout.readline() if ready else ""
        if line.startswith("{"):
            p.wait(timeout=10)
            return json.loads(line)
        m = re.match(r"listening 127\.0\.0\.1:(\d+)", line)
        if not m:
            return {"error": "server did not start: " + (line.strip() or "no output") + server_stderr()}
        port = int(m.group(1))
        if not http_check(port):
            return {"error": "wrong HTTP response" + server_stderr()}
        url = f"http://127.0.0.1:{port}/"
        subprocess.run(["wrk", "-t1", "-c64", f"-d{warmup_secs}s", url],
                       capture_output=True, text=True, timeout=warmup_secs + 30)
        before = proc_cpu_ticks(p.pid)
        w = subprocess.run(["wrk", "-t1", "-c64", f"-d{secs}s", url],
                           capture_output=True, text=True, timeout=secs + 60)
        after = proc_cpu_ticks(p.pid)
        res = parse_wrk(w.stdout)
        if not res or res["requests"] == 0:
            got = f"{res['requests']} requests" if res else (w.stdout + w.stderr).strip().replace("\n", " | ")
            return {"error": f"wrk -c64 -d{secs}s: {got}; server CPU {after - before} ticks" + server_stderr()}
        cpu_s = (after - before) / os.sysconf("SC_CLK_TCK")
        return {
            "workload": "http_hello", "flavor": flavor,
            "n": res["requests"],
            "cpu_us_per_req": cpu_s * 1e6 / res["requests"],
            "req_per_s": res["req_per_s"],
            "runs": 1,
            "wrk_errors": res["errors"],
        }
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"error": f"http_hello: {e}"}
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stdout.close()
        errf.close()


# ---- aggregation -------------------------------------------------------------

class Results:
    def __init__(self):
        self.samples = {}   # (runtime, workload, flavor) -> [figure, ...]
        self.extra = {}     # (runtime, workload, flavor) -> {"req_per_s": [...], ...}
        self.skipped = {}   # (runtime, workload, flavor) -> reason
        self.notes = {}     # (runtime, workload, flavor) -> note
        self.sync = {}      # (runtime, workload, flavor) -> "local" / "shared" channels

    def add(self, runtime, workload, flavor, rec):
        k = (runtime, workload, flavor)
        if "skipped" in rec:
            self.skipped[k] = rec["skipped"]
            return
        if "error" in rec:
            self.skipped[k] = "error: " + rec["error"]
            log(f"  {runtime} {workload} {flavor}: ERROR {rec['error']}")
            return
        key = key_of(workload)
        vals = rec.get("samples") or [rec[key]]
        self.samples.setdefault(k, []).extend(vals)
        if workload == "http_hello":
            self.extra.setdefault(k, {}).setdefault("req_per_s", []).append(rec["req_per_s"])
            self.extra[k].setdefault("requests", []).append(rec["n"])
            if rec.get("wrk_errors"):
                self.notes[k] = "wrk: " + rec["wrk_errors"]
        elif rec.get("note"):
            self.notes[k] = rec["note"]
        if rec.get("sync"):
            self.sync[k] = rec["sync"]

    @classmethod
    def load(cls, path):
        """The results of an earlier run, from its results.jsonl (medians)."""
        res = cls()
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                rec = json.loads(line)
                k = (rec["runtime"], rec["workload"], rec["flavor"])
                if "skipped" in rec:
                    res.skipped[k] = rec["skipped"]
                    continue
                res.samples[k] = [rec[key_of(rec["workload"])]]
                if rec["workload"] == "http_hello":
                    res.extra[k] = {"req_per_s": [rec["req_per_s"]], "requests": [rec["n"]]}
                if rec.get("note"):
                    res.notes[k] = rec["note"]
                if rec.get("sync"):
                    res.sync[k] = rec["sync"]
        return res

    def median(self, runtime, workload, flavor):
        v = self.samples.get((runtime, workload, flavor))
        return statistics.median(v) if v else None

    def count(self, runtime, workload, flavor):
        return len(self.samples.get((runtime, workload, flavor), []))

    def json_lines(self):
        keys = set(self.samples) | set(self.skipped)
        order = lambda k: (WORKLOADS.index(k[1]), k[0],
                           EDDY_FLAVORS.index(k[2]) if k[2] in EDDY_FLAVORS else 9)
        out = []
        for k in sorted(keys, key=order):
            rt, w, f = k
            rec = {"workload": w, "flavor": f, "runtime": rt}
            v = self.samples.get(k)
            if not v:
                rec["skipped"] = self.skipped[k]
            elif w == "http_hello":
                rec["n"] = int(statistics.median(self.extra[k]["requests"]))
                rec["cpu_us_per_req"] = round(statistics.median(v), 3)
                rec["req_per_s"] = round(statistics.median(self.extra[k]["req_per_s"]), 1)
            else:
                rec["n"] = N_OF[w]
                rec[key_of(w)] = round(statistics.median(v), 2)
            if v:
                rec["runs"] = len(v)
            if v and w in CHANNEL_WORKLOADS and self.sync.get(k):
                rec["sync"] = self.sync[k]
            if v and self.notes.get(k):
                rec["note"] = self.notes[k]
            out.append(json.dumps(rec, separators=(",", ":")))
        return out

    def peer(self, workload, eddy_flavor):
        """(tokio flavor, median) of the better peer, or (None, None)."""
        best = (None, None)
        for tf in PEERS[eddy_flavor]:
            m = self.median("tokio", workload, tf)
            if m is not None and (best[1] is None or m < best[1]):
                best = (tf, m)
        return best


def fmt_value(workload, v):
    if v is None:
        return "-"
    if workload == "idle_memory":
        return f"{v:,.0f} B"
    if workload == "http_hello":
        return f"{v:.2f} us/req"
    if v >= 10000:
        return f"{v / 1000:,.1f} us"
    return f"{v:,.1f} ns"


def target_text(workload):
    kind, lim = TARGETS[workload]
    return f"<= {lim / 1024:.1f} KiB" if kind == "abs" else f"<= {lim:.2f}"


def target_met(workload, eddy_v, ratio):
    kind, lim = TARGETS[workload]
    x = eddy_v if kind == "abs" else ratio
    if x is None:
        return None
    return x <= lim


def table(res, workloads, header):
    rows = [("workload", "flavor", "eddy", "tokio (peer flavor)", "eddy/tokio", "target (local)", "")]
    for w in workloads:
        first = True
        for ef in EDDY_FLAVORS:
            k = ("eddy", w, ef)
            ev = res.median(*k)
            tf, tv = res.peer(w, ef)
            if ev is None and k not in res.skipped:
                continue
            ratio = ev / tv if (ev is not None and tv) else None
            tgt, mark = "", ""
            if ef == "local" and w in TARGETS:
                tgt = target_text(w)
                met = target_met(w, ev, ratio)
                mark = "" if met is None else ("met" if met else "MISSED")
            if ev is None:
                eddy_s = "skipped"
            else:
                eddy_s = fmt_value(w, ev)
            peer_s = f"{fmt_value(w, tv)} ({tf})" if tv is not None else "-"
            ratio_s = f"{ratio:.2f}" if ratio is not None else "-"
            rows.append((w if first else "", ef, eddy_s, peer_s, ratio_s, tgt, mark))
            first = False
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [header, ""]
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[j]) if j < 2 else c.rjust(widths[j]) if j in (2, 4) else c.ljust(widths[j])
                               for j, c in enumerate(r)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * wd for wd in widths))
    # http_hello throughput, for the record
    http = [(f, res.extra.get(("eddy", "http_hello", f)), res.extra.get(("tokio", "http_hello", f)))
            for f in EDDY_FLAVORS]
    if any(e for _, e, _ in http):
        lines.append("")
        lines.append("http_hello requests/s (wrk -t1 -c64 on the same 2 cores; wrk caps it):")
        for f in EDDY_FLAVORS:
            e = res.extra.get(("eddy", "http_hello", f))
            tfs = PEERS[f]
            ts = [(tf, res.extra.get(("tokio", "http_hello", tf))) for tf in tfs]
            if e:
                tpart = ", ".join(f"tokio {tf} {statistics.median(t['req_per_s']):,.0f}"
                                  for tf, t in ts if t)
                lines.append(f"  eddy {f} {statistics.median(e['req_per_s']):,.0f}; {tpart}")
    if "yield_many" in workloads:
        lines.extend(yield_floor_lines(res))
    lines.extend(floor_lines(res))
    # notes and skips
    notes = []
    for (rt, w, f), why in sorted(res.skipped.items(), key=lambda kv: (kv[0][0], WORKLOADS.index(kv[0][1]) if kv[0][1] in WORKLOADS else 99, kv[0][2])):
        if w in workloads and (rt, w, f) not in res.samples:
            notes.append(f"  skipped: {rt} {w} {f}: {why}")
    folded = {}
    for (rt, w, f), n in res.notes.items():
        if w in workloads:
            folded.setdefault((rt, w, n), []).append(f)
    for (rt, w, n), fs in sorted(folded.items(), key=lambda kv: WORKLOADS.index(kv[0][1])):
        notes.append(f"  note: {rt} {w} ({', '.join(fs)}): {n}")
    if notes:
        lines.append("")
        lines.extend(_dedupe_skips(notes))
    return "\n".join(lines)


def yield_floor_lines(res):
    """yield_many's floor: one bare context switch, beside Tokio's yield and
    eddy's, so that the ratio can be read against the lowest it could be."""
    floor = res.median("floor", "yield_many", FLOOR_FLAVOR)
    if floor is None:
        return []
    out = ["", "yield_many's floor (bench/floor: eddy's context switch alone, round a ring of "
               "200 stacks; a stackful yield is at least one):",
           f"  one switch {fmt_value('yield_many', floor)}"]
    tf, tv = res.peer("yield_many", "local")
    ev = res.median("eddy", "yield_many", "local")
    parts = []
    if tv:
        parts.append(f"switch / tokio {tf} yield {floor / tv:.2f}")
    if ev:
        parts.append(f"eddy local yield / switch {ev / floor:.2f}")
    if parts:
        out.append("  " + ", ".join(parts))
    return out


def floor_lines(res):
    """http_hello with no runtime: the kernel's share of a request, and
    each runtime's figure as a multiple of it."""
    bare = [(f, res.median("bare", "http_hello", f)) for f in BARE_FLAVORS]
    bare = [(f, v) for f, v in bare if v is not None]
    if not bare:
        return []
    out = ["", "http_hello with no runtime at all (bench/peers/bare: one thread, one loop, "
               "the same response):"]
    for f, v in bare:
        rps = statistics.median(res.extra[("bare", "http_hello", f)]["req_per_s"])
        out.append(f"  bare {f} {fmt_value('http_hello', v)} ({rps:,.0f} req/s)")
    floor_f, floor = bare[0]
    parts = []
    for rt, flavors in (("eddy", EDDY_FLAVORS), ("tokio", TOKIO_FLAVORS)):
        for f in flavors:
            v = res.median(rt, "http_hello", f)
            if v is not None:
                parts.append(f"{rt} {f} {v / floor:.2f}")
    if parts:
        out.append(f"  server CPU / bare {floor_f}: " + ", ".join(parts))
    return out


def targets_markdown(res):
    """The LocalRuntime's targets as a Markdown table (for the README)."""
    out = ["| workload | target | eddy `local` | Tokio (better of current_thread, localset) | eddy/Tokio | |",
           "|---|---|---:|---:|---:|---|"]
    for w in WORKLOADS:
        if w not in TARGETS:
            continue
        ev = res.median("eddy", w, "local")
        tf, tv = res.peer(w, "local")
        ratio = ev / tv if ev is not None and tv else None
        met = target_met(w, ev, ratio)
        tgt = target_text(w).replace("<=", "≤")
        if TARGETS[w][0] == "ratio":
            tgt = "ratio " + tgt
        out.append(f"| {w} | {tgt} | {fmt_value(w, ev) if ev is not None else 'skipped'} | "
                   f"{fmt_value(w, tv) + ' (' + tf + ')' if tv is not None else '-'} | "
                   f"{f'{ratio:.2f}' if ratio is not None else '-'} | "
                   f"{'' if met is None else ('met' if met else '**missed**')} |")
    return "\n".join(out)


def _dedupe_skips(notes):
    """Folds the same skip reason for many workloads into one line."""
    seen, out = {}, []
    for n in notes:
        m = re.match(r"  skipped: (\S+) (\S+) (\S+): (.*)", n)
        if m:
            key = (m.group(1), m.group(3), m.group(4))
            if key in seen:
                out[seen[key]][1].append(m.group(2))
                continue
            seen[key] = len(out)
            out.append((n, [m.group(2)], key))
        else:
            out.append((n, None, None))
    lines = []
    for n, ws, key in out:
        if ws is None:
            lines.append(n)
        elif len(ws) > 3:
            lines.append(f"  skipped: {key[0]} {key[1]} ({len(ws)} workloads): {key[2]}")
        else:
            lines.append(f"  skipped: {key[0]} {','.join(ws)} {key[1]}: {key[2]}")
    return lines


# ---- chart -------------------------------------------------------------------

def chart(res, workloads, path, title, term="svg size 960,520 dynamic font 'sans,12' background '#ffffff'"):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no chart")
        return False
    flavors = [f for f in EDDY_FLAVORS
               if any(res.median("eddy", w, f) is not None for w in workloads)]
    rows = []
    for w in workloads:
        vals = []
        for f in flavors:
            ev = res.median("eddy", w, f)
            _, tv = res.peer(w, f)
            vals.append(f"{ev / tv:.4f}" if ev is not None and tv else "NaN")
        tgt = "NaN"
        if w in TARGETS and TARGETS[w][0] == "ratio":
            tgt = str(TARGETS[w][1])
        elif w in TARGETS:  # an absolute target, drawn as the ratio it means
            _, tv = res.peer(w, "local")
            tgt = f"{TARGETS[w][1] / tv:.4f}" if tv else "NaN"
        rows.append((w, vals, tgt))
    if not flavors or not rows:
        return False
    tmp = tempfile.mkdtemp(prefix="eddy-bench-")
    dat = os.path.join(tmp, "ratios.dat")
    with open(dat, "w") as f:
        for w, vals, tgt in rows:
            f.write(f"{w} " + " ".join(vals) + f" {tgt}\n")
    n = len(flavors)
    finite = [float(x) for _, vals, t in rows for x in vals + [t] if x != "NaN"]
    lo = min([1 / 16] + finite)
    hi = max([4.0] + finite)
    e_lo, e_hi = math.floor(math.log2(lo)), math.ceil(math.log2(hi * 1.2))
    tics = ", ".join(f"'{2.0 ** e:g}' {2.0 ** e:g}" if e >= 0 else f"'1/{2 ** -e}' {2.0 ** e:g}"
                     for e in range(e_lo, e_hi + 1))
    colors = {"local": "#1f77b4", "current_thread": "#2ca02c", "localset": "#9467bd",
              "multi_thread": "#ff7f0e"}
    plots = []
    for i, fl in enumerate(flavors):
        plots.append(f"'{dat}' using {i + 2}:xtic(1) title '{fl}' lc rgb '{colors[fl]}'")
    gap = 1
    width = 1.0 / (n + gap)
    offset = lambda i: (i - (n - 1) / 2) * width
    # target of the local flavor: a black tick over the local bar
    li = flavors.index("local") if "local" in flavors else None
    if li is not None:
        plots.append(f"'{dat}' using ($0{offset(li):+.3f}):{n + 2} with points pt 7 ps 0.9 "
                     f"lc rgb 'black' title 'target (local)'")
    script = f"""
set terminal {term}
set output '{path}'
set title '{title}'
set style data histograms
set style histogram clustered gap {gap}
set style fill solid 0.85 border -1
set boxwidth 1
set logscale y 2
set termoption noenhanced
set yrange [{2.0 ** e_lo:g}:{2.0 ** e_hi:g}]
set ytics ({tics})
set ylabel 'eddy / Tokio (lower is better)'
set grid ytics
set xtics rotate by -30 scale 0
set key top left horizontal
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#d62728'
plot {", ".join(plots)}
"""
    gp = os.path.join(tmp, "ratios.gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr.strip())
        return False
    return True


# ---- main --------------------------------------------------------------------

def environment(args):
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include"],
                           capture_output=True, text=True).stdout.strip()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    tokio = "?"
    reg = "/usr/share/cargo/registry"
    if os.path.isdir(reg):
        v = sorted(d for d in os.listdir(reg) if re.match(r"tokio-\d", d))
        tokio = v[-1] if v else "?"
    return (f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, eddy {rev}"
            f"{' + uncommitted changes' if dirty else ''}, {tokio} (Debian), "
            f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short pass for development")
    ap.add_argument("--rounds", type=int, help="rounds of alternation (default 5; quick 1)")
    ap.add_argument("--runs", type=int, help="timed runs per process (default 5; quick 3); "
                    "times RUNS_SCALE for the short workloads")
    ap.add_argument("--http-secs", type=int, help="wrk duration (default 5; quick 2)")
    ap.add_argument("--http-rounds", type=int, help="http_hello rounds (default 3, or --rounds if fewer)")
    ap.add_argument("--workloads", help="comma-separated subset (default: all)")
    ap.add_argument("--flavors", help="comma-separated eddy flavors (default: all)")
    ap.add_argument("--out", help="results directory (default bench/results; quick: bench/results/quick)")
    ap.add_argument("--eddy", default=os.path.join(ROOT, "build", "release", "bench_eddy"))
    ap.add_argument("--tokio", default=os.path.join(ROOT, "build", "tokio-peer", "release", "tokio-peer"))
    ap.add_argument("--bare", default=os.path.join(ROOT, "build", "bare-peer", "bare-http"),
                    help="the no-runtime http_hello server (optional)")
    ap.add_argument("--floor", default=os.path.join(ROOT, "build", "release", "bench_switch_floor"),
                    help="the bare context-switch ring under yield_many (optional)")
    ap.add_argument("--png", action="store_true", help="also write ratios.png")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per process")
    ap.add_argument("--replot", action="store_true",
                    help="run nothing: redo the table and chart from OUT/results.jsonl")
    a = ap.parse_args()

    a.out = a.out or os.path.join(ROOT, "bench", "results", *(["quick"] if a.quick else []))
    # Five rounds, as a process of either runtime tends to stay in one of
    # the machine's fast or slow states for all its runs: the median of
    # five processes is seldom decided by one. http_hello's rounds are long
    # and steady (a whole wrk run each), so three do.
    rounds = a.rounds or (1 if a.quick else 5)
    runs = a.runs or (3 if a.quick else 5)
    http_secs = a.http_secs or (2 if a.quick else 5)
    http_rounds = a.http_rounds or min(rounds, 3)
    workloads = a.workloads.split(",") if a.workloads else list(WORKLOADS)
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    eddy_flavors = a.flavors.split(",") if a.flavors else list(EDDY_FLAVORS)
    tokio_flavors = sorted({tf for ef in eddy_flavors for tf in PEERS[ef]}, key=TOKIO_FLAVORS.index)
    if a.replot:
        return replot(a, workloads)
    for b in (a.eddy, a.tokio):
        if not os.access(b, os.X_OK):
            sys.exit(f"run.py: {b} is missing: run `make bench` (or build it)")

    # Run private copies: build/release is shared, and a rebuild in the
    # middle of a run must not change what is being measured.
    snap = tempfile.mkdtemp(prefix="eddy-bench-bin-")
    bins = {}
    for rt, b in (("eddy", a.eddy), ("tokio", a.tokio), ("bare", a.bare), ("floor", a.floor)):
        if rt in ("bare", "floor") and not os.access(b, os.X_OK):
            continue  # optional: the table then lacks that floor
        bins[rt] = os.path.join(snap, rt + "-" + os.path.basename(b))
        shutil.copy2(b, bins[rt])
    try:
        run_all(a, bins, workloads, eddy_flavors, tokio_flavors, rounds, runs,
                http_secs, http_rounds)
    finally:
        shutil.rmtree(snap, ignore_errors=True)


def run_all(a, bins, workloads, eddy_flavors, tokio_flavors, rounds, runs, http_secs,
            http_rounds):
    have_wrk = shutil.which("wrk") is not None
    res = Results()
    flv = {"eddy": eddy_flavors, "tokio": tokio_flavors}
    started = time.time()
    micro = [w for w in workloads if w != "http_hello"]
    for r in range(1, rounds + 1):
        order = ["eddy", "tokio"] if r % 2 else ["tokio", "eddy"]
        for w in micro:
            t0 = time.time()
            # alternate eddy and Tokio flavor by flavor: e, t, e, t, ...
            seq = []
            for i in range(max(len(flv["eddy"]), len(flv["tokio"]))):
                for rt in order:
                    if i < len(flv[rt]):
                        seq.append((rt, flv[rt][i]))
            for rt, f in seq:
                if (rt, w, f) in res.skipped and (rt, w, f) not in res.samples:
                    continue  # a skip is for good (missing flavor or API)
                n = runs * RUNS_SCALE.get(w, 1)
                res.add(rt, w, f, run_micro(bins[rt], rt, w, f, n, a.timeout))
            if w == "yield_many" and "floor" in bins:
                res.add("floor", w, FLOOR_FLAVOR,
                        run_micro(bins["floor"], "floor", w, FLOOR_FLAVOR, runs, a.timeout))
            log(f"round {r}/{rounds}: {w} ({time.time() - t0:.1f} s)")
    if "http_hello" in workloads:
        if not have_wrk:
            for rt in ("eddy", "tokio"):
                for f in flv[rt]:
                    res.add(rt, "http_hello", f, {"skipped": "wrk is not installed"})
        else:
            for r in range(1, http_rounds + 1):
                order = ["eddy", "tokio"] if r % 2 else ["tokio", "eddy"]
                t0 = time.time()
                for i in range(max(len(flv["eddy"]), len(flv["tokio"]))):
                    for rt in order:
                        if i >= len(flv[rt]):
                            continue
                        f = flv[rt][i]
                        if (rt, "http_hello", f) in res.skipped and (rt, "http_hello", f) not in res.samples:
                            continue
                        res.add(rt, "http_hello", f, run_http(bins[rt], rt, f, http_secs))
                for f in (BARE_FLAVORS if "bare" in bins else []):
                    k = ("bare", "http_hello", f)
                    if k not in res.skipped or k in res.samples:
                        res.add("bare", "http_hello", f, run_http(bins["bare"], "bare", f, http_secs))
                log(f"round {r}/{http_rounds}: http_hello ({time.time() - t0:.1f} s)")

    env = environment(a)
    mode = "quick" if a.quick else "full"
    header = (f"eddy vs Tokio ({mode}: {rounds} round(s) x {runs} runs (x2-x10 for the "
              f"short workloads), alternating; "
              f"http_hello: {http_rounds} x wrk -t1 -c64 -d{http_secs}s)\n"
              f"{env}\n"
              f"Medians; ratio = eddy / Tokio, lower is better; the peer of eddy's `local` "
              f"is the better of Tokio's current_thread and localset.\n"
              f"Units: ns per op; idle_memory bytes per parked task; "
              f"http_hello server CPU us per request.\n"
              f"eddy's local and localset flavors use EDDY_SYNC_LOCAL channels, the "
              f"others EDDY_SYNC_SHARED; Tokio's channels are always thread-safe.")
    text = table(res, workloads, header)
    os.makedirs(a.out, exist_ok=True)
    lines = res.json_lines()
    with open(os.path.join(a.out, "results.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(a.out, "results.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "targets.md"), "w") as f:
        f.write(targets_markdown(res) + "\n")
    svg = os.path.join(a.out, "ratios.svg")
    title = f"eddy / Tokio per workload and flavor ({mode} run, {env.split(',')[0]})"
    made = chart(res, workloads, svg, title)
    if a.png:
        chart(res, workloads, os.path.join(a.out, "ratios.png"), title,
              "pngcairo size 960,520 font 'sans,10' background '#ffffff'")
    print("\n".join(lines))
    print()
    print(text)
    print()
    print(f"wrote {os.path.relpath(a.out, os.getcwd())}/results.jsonl, results.txt, targets.md"
          + (", ratios.svg" if made else "")
          + f" in {time.time() - started:.0f} s")


def replot(a, workloads):
    res = Results.load(os.path.join(a.out, "results.jsonl"))
    header = "eddy vs Tokio (replotted from results.jsonl)"
    try:
        with open(os.path.join(a.out, "results.txt")) as f:
            header = f.read().split("\n\n", 1)[0]
    except OSError:
        pass
    workloads = [w for w in workloads if any(k[1] == w for k in list(res.samples) + list(res.skipped))]
    text = table(res, workloads, header)
    with open(os.path.join(a.out, "results.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "targets.md"), "w") as f:
        f.write(targets_markdown(res) + "\n")
    m = re.search(r"(quick|full):.*\n(\d{4}-\d\d-\d\d \d\d:\d\d)", header)
    title = (f"eddy / Tokio per workload and flavor ({m.group(1)} run, {m.group(2)})" if m
             else "eddy / Tokio per workload and flavor")
    chart(res, workloads, os.path.join(a.out, "ratios.svg"), title)
    if a.png:
        chart(res, workloads, os.path.join(a.out, "ratios.png"), title,
              "pngcairo size 960,520 font 'sans,10' background '#ffffff'")
    print(text)


if __name__ == "__main__":
    main()
