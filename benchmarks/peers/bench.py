#!/usr/bin/env python3
"""Peer benchmark driver (stdlib only; run.sh prepares the venvs, the jars and nginx, then calls this).

Starts every server on free loopback ports in a private work folder, drives each with Triton's
perf_analyzer over gRPC in interleaved rounds, and prints medians, RSS and ratios as Markdown.
See docs/benchmarks.md, section "Peers".
"""
import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ("simple", "minilm")
SERVERS = ("pod", "router", "nginx", "kserve", "mlserver")
LABELS = {
    "pod": "our inference pod",
    "router": "our router -> pod",
    "nginx": "nginx `grpc_pass` -> pod",
    "kserve": "KServe ModelServer",
    "mlserver": "MLServer",
    "inprocess": "ONNX Runtime in-process, batch 1",
}
MODEL_LABELS = {"simple": "tiny model", "minilm": "MiniLM fp32 seq 128"}
SEQ = 128


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--concurrency", default="1,8,32")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--window-ms-simple", type=int, default=2000,
                   help="perf_analyzer measurement window, tiny model; each cell averages 3 windows")
    p.add_argument("--window-ms-minilm", type=int, default=5000,
                   help="perf_analyzer measurement window, MiniLM; each cell averages 3 windows")
    p.add_argument("--warmup-ms", type=int, default=8000,
                   help="warm-up window per server and model at c8 (3 windows, not counted); long enough for "
                        "the JVMs' C2 compiler to finish the hot paths on 2 cores")
    p.add_argument("--inprocess-seconds", type=float, default=3.0)
    p.add_argument("--no-inprocess", action="store_true",
                   help="skip the ONNX Runtime in-process row (it runs in KServe's venv; run.sh sets this when "
                        "--servers names no kserve)")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads, every server")
    p.add_argument("--mlserver-parallel-workers", type=int, default=0,
                   help="MLServer's parallel_workers; 0 runs inference in its main process, as the other servers do")
    p.add_argument("--workdir", required=True)
    p.add_argument("--model-repository", required=True, help="models/target/repository")
    p.add_argument("--inference-jar")
    p.add_argument("--router-jar")
    p.add_argument("--pod-java-opts", default="", help="the pod JVM's options (run.sh: the chart's)")
    p.add_argument("--router-java-opts", default="", help="the router JVM's options (run.sh: the chart's)")
    p.add_argument("--pod-malloc-arenas", default="", help="MALLOC_ARENA_MAX of the pod; empty: glibc's default")
    p.add_argument("--nginx", default="", help="nginx binary; empty skips nginx")
    p.add_argument("--kserve-venv")
    p.add_argument("--mlserver-venv")
    p.add_argument("--perf-venv")
    p.add_argument("--perf-analyzer")
    p.add_argument("--perf-ld-path", default="")
    p.add_argument("--out", help="also write the report here")
    p.add_argument("--smoke", action="store_true", help="check arguments and layout, start nothing")
    a = p.parse_args(argv)
    for k in ("workdir", "model_repository", "inference_jar", "router_jar", "kserve_venv", "mlserver_venv",
              "perf_venv", "perf_analyzer", "out"):
        if getattr(a, k):
            setattr(a, k, os.path.abspath(getattr(a, k)))
    a.models = [m for m in a.models.split(",") if m]
    a.servers = [s for s in a.servers.split(",") if s]
    a.concurrency = [int(c) for c in a.concurrency.split(",") if c]
    for m in a.models:
        if m not in MODELS:
            p.error(f"unknown model {m}; known: {', '.join(MODELS)}")
    for s in a.servers:
        if s not in SERVERS:
            p.error(f"unknown server {s}; known: {', '.join(SERVERS)}")
    if a.rounds < 1 or not a.concurrency or min(a.concurrency) < 1:
        p.error("--rounds and every --concurrency must be at least 1")
    return a


# ---------------------------------------------------------------- processes, ports, memory

class Procs:
    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = {}

    def start(self, name, cmd, env=None, cwd=None):
        logf = open(os.path.join(self.workdir, f"{name}.log"), "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=full_env, cwd=cwd or self.workdir, start_new_session=True)
        self.procs[name] = proc
        return proc

    def check_alive(self, name):
        proc = self.procs[name]
        if proc.poll() is not None:
            tail = open(os.path.join(self.workdir, f"{name}.log"), errors="replace").read()[-3000:]
            raise SystemExit(f"{name} exited with {proc.returncode}; log {self.workdir}/{name}.log:\n{tail}")

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(procs, name, url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        procs.check_alive(name)
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} not ready after {timeout} s ({url}); log {procs.workdir}/{name}.log")


def wait_tcp(procs, name, port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        procs.check_alive(name)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} not listening on {port} after {timeout} s")


def process_tree(pid):
    """A process and all its descendants (nginx's workers, MLServer's or KServe's helpers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def rss_mib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, jit=True):
    """User + system CPU time of a process tree. CPU per call is steadier than calls/s on a loaded machine.
    jit=False leaves out the JVMs' JIT compiler threads (C1/C2): a JVM still compiling its hot path on a
    loaded machine would otherwise be charged for its warm-up in every early cell."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if not jit:
                for t in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{t}/comm") as fh:
                        if not fh.read().startswith(("C1 CompilerThre", "C2 CompilerThre")):
                            continue
                    with open(f"/proc/{p}/task/{t}/stat") as fh:
                        tf = fh.read().rsplit(")", 1)[1].split()
                    total -= int(tf[11]) + int(tf[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / _TICK


# ---------------------------------------------------------------- servers

def model_paths(a):
    return {m: os.path.join(a.model_repository, m, "1", "model.onnx") for m in a.models}


def start_pod(a, procs, ports):
    repo = os.path.join(a.workdir, "repository")
    for m, path in model_paths(a).items():
        os.makedirs(os.path.join(repo, m, "1"), exist_ok=True)
        os.symlink(path, os.path.join(repo, m, "1", "model.onnx"))
        # The model's own config (batching as shipped), limited to version 1.
        with open(os.path.join(a.model_repository, m, "config.pbtxt")) as src, \
                open(os.path.join(repo, m, "config.pbtxt"), "w") as dst:
            dst.write(src.read())
    g, h = ports["pod"]
    env = {"MAAS_GRPC_PORT": str(g), "MAAS_HTTP_PORT": str(h),
           "MAAS_ONNX_INTRA_OP_THREADS": str(a.threads), "ORT_DISABLE_TELEMETRY": "1",
           "TMPDIR": os.path.join(a.workdir, "tmp")}
    if a.pod_malloc_arenas:
        env["MALLOC_ARENA_MAX"] = a.pod_malloc_arenas
    procs.start("pod", ["java", *a.pod_java_opts.split(), "-jar", a.inference_jar, "--model-repository", repo],
                env=env)
    wait_http(procs, "pod", f"http://127.0.0.1:{h}/v2/health/ready")


def start_router(a, procs, ports):
    pg, ph = ports["pod"]
    g, h = ports["router"]
    endpoints = ";".join(f"{m}:1=127.0.0.1:{pg}/{ph}" for m in a.models)
    procs.start("router", ["java", *a.router_java_opts.split(), "-jar", a.router_jar],
                env={"MAAS_GRPC_PORT": str(g), "MAAS_HTTP_PORT": str(h), "MAAS_ENDPOINTS_SOURCE": "static",
                     "MAAS_STATIC_ENDPOINTS": endpoints, "TMPDIR": os.path.join(a.workdir, "tmp")})
    wait_http(procs, "router", f"http://127.0.0.1:{h}/q/health/ready")


def start_nginx(a, procs, ports):
    prefix = os.path.join(a.workdir, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    g, _ = ports["nginx"]
    pg, _ = ports["pod"]
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = f"""{user}worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  client_max_body_size 64m;
  upstream pod {{ server 127.0.0.1:{pg}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{g} http2;
    location / {{ grpc_pass grpc://pod; }}
  }}
}}
"""
    with open(os.path.join(prefix, "nginx.conf"), "w") as fh:
        fh.write(conf)
    procs.start("nginx", [a.nginx, "-p", prefix, "-c", os.path.join(prefix, "nginx.conf")])
    wait_tcp(procs, "nginx", g)


def save_model_configs(a):
    """Our pod's ModelConfigResponse per model, served by the peers' shim (see model_config_shim.py)."""
    out = os.path.join(a.workdir, "model-configs")
    os.makedirs(out, exist_ok=True)
    code = ("import sys, tritonclient.grpc as g\n"
            "c = g.InferenceServerClient(sys.argv[1])\n"
            "for m in sys.argv[3:]:\n"
            "    open(f'{sys.argv[2]}/{m}.bin', 'wb').write(c.get_model_config(m).SerializeToString())\n")
    subprocess.run([os.path.join(a.perf_venv, "bin", "python"), "-c", code, f"127.0.0.1:{a.ports['pod'][0]}",
                    out] + a.models, check=True)
    return out


def peer_env(a, configs):
    return {"MAAS_BENCH_MODEL_CONFIGS": configs, "MAAS_BENCH_THREADS": str(a.threads),
            "PYTHONPATH": os.path.join(HERE, "site") + os.pathsep + HERE, "TMPDIR": os.path.join(a.workdir, "tmp"),
            "PYTHONUNBUFFERED": "1"}


def start_kserve(a, procs, ports, configs):
    g, h = ports["kserve"]
    cmd = [os.path.join(a.kserve_venv, "bin", "python"), os.path.join(HERE, "kserve_server.py"),
           "--grpc-port", str(g), "--http-port", str(h)]
    for m, path in model_paths(a).items():
        cmd += ["--model", f"{m}={path}"]
    procs.start("kserve", cmd, env=peer_env(a, configs))
    wait_http(procs, "kserve", f"http://127.0.0.1:{h}/v2/health/ready")


def pbtxt_batching(path):
    """(max_batch_size, max_queue_delay_us) from a config.pbtxt; (0, 0) without dynamic batching."""
    text = open(path).read()
    size = delay = 0
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("max_batch_size:"):
            size = int(line.split(":")[1])
        if line.startswith("max_queue_delay_microseconds:"):
            delay = int(line.split(":")[1])
    return (size, delay) if "dynamic_batching" in text else (0, 0)


def start_mlserver(a, procs, ports, configs):
    g, h = ports["mlserver"]
    root = os.path.join(a.workdir, "mlserver")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "settings.json"), "w") as fh:
        json.dump({"http_port": h, "grpc_port": g, "host": "127.0.0.1", "metrics_port": free_port(),
                   "parallel_workers": a.mlserver_parallel_workers, "debug": False}, fh)
    py = os.path.join(a.mlserver_venv, "bin", "python")
    for m, path in model_paths(a).items():
        d = os.path.join(root, m)
        os.makedirs(d, exist_ok=True)
        sig = subprocess.run([py, "-c", "import json, sys, ort_session as o; s = o.session(sys.argv[1]); "
                              "print(json.dumps([o.signature(s.get_inputs()), o.signature(s.get_outputs())]))", path],
                             check=True, capture_output=True, text=True, env={**os.environ, **peer_env(a, configs)})
        inputs, outputs = json.loads(sig.stdout)
        size, delay = pbtxt_batching(os.path.join(a.model_repository, m, "config.pbtxt"))
        settings = {"name": m, "implementation": "mlserver_onnx_runtime.OnnxRuntime",
                    "parameters": {"uri": path, "version": "1"}, "inputs": inputs, "outputs": outputs}
        if size > 1:  # MLServer's adaptive batching, set like our config.pbtxt
            settings.update({"max_batch_size": size, "max_batch_time": delay / 1e6})
        with open(os.path.join(d, "model-settings.json"), "w") as fh:
            json.dump(settings, fh)
    procs.start("mlserver", [os.path.join(a.mlserver_venv, "bin", "mlserver"), "start", root],
                env=peer_env(a, configs), cwd=root)
    wait_http(procs, "mlserver", f"http://127.0.0.1:{h}/v2/health/ready")
    for m in a.models:
        wait_http(procs, "mlserver", f"http://127.0.0.1:{h}/v2/models/{m}/ready")


# ---------------------------------------------------------------- load

def write_input_data(a):
    """One fixed request per model for perf_analyzer and the in-process loop: MiniLM gets a repeated list of
    real WordPiece ids between [CLS] and [SEP] (random INT64 would index past the vocabulary)."""
    files = {}
    words = [7592, 2088, 1010, 2023, 2003, 1037, 3231, 6251, 2005, 1996, 2944, 1012]
    ids = [101] + [words[i % len(words)] for i in range(SEQ - 2)] + [102]
    data = {
        "simple": {"INPUT0": {"content": [float(i) for i in range(16)], "shape": [16]},
                   "INPUT1": {"content": [1.0] * 16, "shape": [16]}},
        "minilm": {"input_ids": {"content": ids, "shape": [SEQ]},
                   "attention_mask": {"content": [1] * SEQ, "shape": [SEQ]},
                   "token_type_ids": {"content": [0] * SEQ, "shape": [SEQ]}},
    }
    for m in a.models:
        files[m] = os.path.join(a.workdir, f"input-{m}.json")
        with open(files[m], "w") as fh:
            json.dump({"data": [data[m]]}, fh)
    return files


def perf(a, server, model, concurrency, window_ms, csv_path):
    """One cell: 3 windows; every window counts as stable, so perf_analyzer reports their average and stops.
    A window too short to see one request complete (a loaded machine, a slow server) is doubled, twice at most."""
    for _ in range(3):
        r = perf_once(a, server, model, concurrency, window_ms, csv_path)
        if "error" not in r or "larger time window" not in " ".join(r["error"]):
            return r
        window_ms *= 2
        log(f"{server} {model} c{concurrency}: no request completed in a window; retrying with {window_ms} ms")
    return r


def perf_once(a, server, model, concurrency, window_ms, csv_path):
    port = a.ports[server][0]
    cmd = [a.perf_analyzer, "-m", model, "-u", f"127.0.0.1:{port}", "-i", "grpc", "-b", "1",
           "--concurrency-range", f"{concurrency}:{concurrency}", "--input-data", a.input_files[model],
           "--measurement-mode", "time_windows", "--measurement-interval", str(window_ms),
           "--stability-percentage", "100000", "--max-trials", "3",
           "-f", csv_path]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = a.perf_ld_path + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    timeout = 60 + 3 * window_ms / 1000 * 4
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": [f"perf_analyzer timed out after {timeout:.0f} s"]}
    if r.returncode != 0 or not os.path.exists(csv_path):
        text = (r.stdout + r.stderr).strip()
        return {"error": text.splitlines()[-3:] if text else [f"exit {r.returncode}"]}
    with open(csv_path) as fh:
        row = next(csv.DictReader(fh))
    return {"throughput": float(row["Inferences/Second"]), "p50_us": float(row["p50 latency"]),
            "p99_us": float(row["p99 latency"])}


def inprocess(a, model):
    py = os.path.join(a.kserve_venv, "bin", "python")
    r = subprocess.run([py, os.path.join(HERE, "inprocess.py"), "--model", model_paths(a)[model],
                        "--data", a.input_files[model], "--seconds", str(a.inprocess_seconds),
                        "--warmup-seconds", "1"], capture_output=True, text=True,
                       env={**os.environ, "MAAS_BENCH_THREADS": str(a.threads), "PYTHONPATH": HERE,
                            "TMPDIR": os.path.join(a.workdir, "tmp")}, timeout=120)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"]}
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report

def median(values):
    return statistics.median(values) if values else None


def fmt_rate(x):
    if x is None:
        return "-"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def fmt_ms(us):
    if us is None:
        return "-"
    if us < 100:
        return f"{us / 1000:.3f}"
    return f"{us / 1000:.2f}" if us < 10000 else f"{us / 1000:.1f}"


def report(a, results, rss, started, load_start, load_end, skipped):
    out = []
    w = out.append
    rows = [s for s in a.servers if s not in skipped]
    cs = a.concurrency
    w(f"# Peer benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}")
    w("")
    w(f"perf_analyzer over gRPC, batch 1, {a.rounds} interleaved round(s), medians; ONNX Runtime intra-op threads "
      f"{a.threads} everywhere; 3 windows of {a.window_ms_simple} ms (tiny) / {a.window_ms_minilm} ms (MiniLM). "
      f"Load average (1 min) {load_start:.2f} at start, {load_end:.2f} at end; {os.cpu_count()} CPUs.")
    for s, why in skipped.items():
        w(f"- {LABELS[s]} skipped: {why}")
    w("")
    head = "| server | " + " | ".join(f"{MODEL_LABELS[m]} c{' / c'.join(map(str, cs))} (infer/s)" for m in a.models)
    head += " | " + " | ".join(f"{MODEL_LABELS[m]} p50 (ms)" for m in a.models) + " | RSS after warm-up -> end (MiB) |"
    w(head)
    w("|---" * (2 * len(a.models) + 2) + "|")
    for s in rows:
        cells = []
        for m in a.models:
            cells.append(" / ".join(fmt_rate(median([r["throughput"] for r in results.get((s, m, c), [])])) for c in cs))
        for m in a.models:
            cells.append(" / ".join(fmt_ms(median([r["p50_us"] for r in results.get((s, m, c), [])])) for c in cs))
        mem = rss.get(s, {})
        cells.append(f"{mem.get('warm', 0):.0f} -> {mem.get('end', 0):.0f}" if mem else "")
        w(f"| {LABELS[s]} | " + " | ".join(cells) + " |")
    cells = []
    for m in a.models:
        cells.append(fmt_rate(median([r["throughput"] for r in results.get(("inprocess", m, 1), [])])) + " (c1)")
    for m in a.models:
        cells.append(fmt_ms(median([r["p50_us"] for r in results.get(("inprocess", m, 1), [])])) + " (c1)")
    if not a.no_inprocess:
        w(f"| {LABELS['inprocess']} | " + " | ".join(cells) + " | |")
    w("")
    w("Ratios (throughput, from the medians):")
    w("")

    def ratio(num, den, m, c):
        x = median([r["throughput"] for r in results.get((num, m, c), [])])
        y = median([r["throughput"] for r in results.get((den, m, c), [])])
        return f"{x / y:.2f}x" if x and y else "-"

    pairs = [("pod", p) for p in ("kserve", "mlserver") if p in rows and "pod" in rows]
    if "router" in rows and "nginx" in rows:
        pairs.append(("router", "nginx"))

    def ratio_lines(of):
        """One line per compared pair, then the pod at c1 against in-process; of(num, den, m, c) -> text."""
        for num, den in pairs:
            parts = [f"{MODEL_LABELS[m]} " + " / ".join(of(num, den, m, c) for c in cs) for m in a.models]
            w(f"- {LABELS[num]} vs {LABELS[den]} (c{' / c'.join(map(str, cs))}): " + "; ".join(parts))
        if "pod" in rows and 1 in cs and not a.no_inprocess:
            parts = [f"{MODEL_LABELS[m]} {of('pod', 'inprocess', m, 1)}" for m in a.models]
            w(f"- {LABELS['pod']} at c1 vs {LABELS['inprocess']}: " + "; ".join(parts))
        w("")

    ratio_lines(ratio)

    # On a shared machine the pace moves between rounds for every server alike; a ratio of two cells
    # measured minutes apart in the same round shows less of that than a ratio of medians taken from
    # different rounds. Both are printed; neither replaces the other.
    def paired(num, den, m, c):
        by_round = {r["round"]: r["throughput"] for r in results.get((den, m, 1 if den == "inprocess" else c), [])}
        rs = [r["throughput"] / by_round[r["round"]] for r in results.get((num, m, c), [])
              if by_round.get(r["round"])]
        if not rs:
            return "-"
        return f"{median(rs):.2f}x ({' / '.join(f'{x:.2f}' for x in rs)})"

    if a.rounds > 1:
        w("Ratios per round (same round's cells; median, then each round):")
        w("")
        ratio_lines(paired)
    w("Server CPU time per call (user + system of the server's processes over the cell, median, us); for the "
      "router and nginx rows only the proxy's own processes, the pod's CPU is not included:")
    w("")
    def cpu_table(key):
        w("| server | " + " | ".join(f"{MODEL_LABELS[m]} c{' / c'.join(map(str, cs))}" for m in a.models) + " |")
        w("|---" * (len(a.models) + 1) + "|")
        for s in rows:
            cells = []
            for m in a.models:
                vals = [median([r[key] for r in results.get((s, m, c), []) if key in r]) for c in cs]
                cells.append(" / ".join("-" if v is None else f"{v:,.0f}" for v in vals))
            w(f"| {LABELS[s]} | " + " | ".join(cells) + " |")

    cpu_table("cpu_us")
    w("")
    w("The same without the JVMs' JIT compiler threads (our pod and router; the Python peers and nginx "
      "have none), i.e. the cost once warm:")
    w("")
    cpu_table("cpu_us_nojit")
    w("")
    w("Every round (infer/s), to show the spread:")
    w("")
    w("| server | model | " + " | ".join(f"c{c}" for c in cs) + " |")
    w("|---|---|" + "---|" * len(cs))
    for s in rows + ["inprocess"]:
        for m in a.models:
            cells = []
            for c in cs:
                rs = results.get((s, m, c), [])
                errs = results.get(("errors", s, m, c), [])
                cells.append(" / ".join(fmt_rate(r["throughput"]) for r in rs) + (f" ({len(errs)} failed)" if errs else ""))
            if any(cells):
                w(f"| {LABELS[s]} | {MODEL_LABELS[m]} | " + " | ".join(cells) + " |")
    errors = [(k, e) for k, v in results.items() if k[0] == "errors" for e in v]
    if errors:
        w("")
        w("Failed cells:")
        for (_, s, m, c), e in errors:
            w(f"- {s} {m} c{c}: {e}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

def main(argv):
    a = parse_args(argv)
    if a.smoke:
        missing = [f"{k}={getattr(a, k)}" for k in ("inference_jar", "router_jar", "perf_analyzer")
                   if not getattr(a, k) or not os.path.exists(getattr(a, k))]
        missing += [f"model {p}" for p in model_paths(a).values() if not os.path.exists(p)]
        needed = ["perf_venv"] + (["kserve_venv"] if "kserve" in a.servers or not a.no_inprocess else []) \
            + (["mlserver_venv"] if "mlserver" in a.servers else [])
        for k in needed:
            if not getattr(a, k) or not os.path.exists(os.path.join(getattr(a, k), "bin", "python")):
                missing.append(f"{k}={getattr(a, k)}")
        if missing:
            raise SystemExit("smoke: missing " + ", ".join(missing))
        print(f"smoke: ok (models {a.models}, servers {a.servers}, concurrency {a.concurrency}, rounds {a.rounds})")
        return
    os.makedirs(os.path.join(a.workdir, "tmp"), exist_ok=True)
    # The servers run in their own sessions: on SIGTERM too, stop them in the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    load_start = os.getloadavg()[0]
    skipped = {}
    if "nginx" in a.servers and not a.nginx:
        skipped["nginx"] = "no nginx binary (see run.sh's message)"
    if ("router" in a.servers or "nginx" in a.servers) and "pod" not in a.servers:
        a.servers.insert(0, "pod")
    a.ports = {s: (free_port(), free_port()) for s in SERVERS}
    a.input_files = write_input_data(a)
    procs = Procs(a.workdir)
    results, rss, pids = {}, {}, {}
    try:
        log("starting our inference pod")
        start_pod(a, procs, a.ports)
        configs = save_model_configs(a)
        starters = {"router": lambda: start_router(a, procs, a.ports),
                    "nginx": lambda: start_nginx(a, procs, a.ports),
                    "kserve": lambda: start_kserve(a, procs, a.ports, configs),
                    "mlserver": lambda: start_mlserver(a, procs, a.ports, configs)}
        for s in a.servers:
            if s in starters and s not in skipped:
                log(f"starting {s}")
                starters[s]()
        for s in a.servers:
            if s not in skipped:
                pids[s] = procs.procs[s].pid
        active = [s for s in a.servers if s not in skipped]
        log("checking that every server answers the benchmark requests with our pod's outputs")
        subprocess.run([os.path.join(a.perf_venv, "bin", "python"), os.path.join(HERE, "check_outputs.py"), a.workdir,
                        str(a.ports["pod"][0])] + [f"{s}={a.ports[s][0]}" for s in active if s != "pod"],
                       check=True, env={**os.environ, "TMPDIR": os.path.join(a.workdir, "tmp")})
        log("warming up every server on every model")
        for s in active:
            for m in a.models:
                r = perf(a, s, m, 8, a.warmup_ms, os.path.join(a.workdir, f"warmup-{s}-{m}.csv"))
                if "error" in r:
                    raise SystemExit(f"warm-up of {s} on {m} failed: {r['error']}")
        # The pod's RSS counts for the pod row only; the router's and nginx's count their own processes.
        rss = {s: {"warm": rss_mib(pids[s])} for s in active}
        for rnd in range(a.rounds):
            for m in a.models:
                window = a.window_ms_simple if m == "simple" else a.window_ms_minilm
                r = inprocess(a, m) if not a.no_inprocess else {"skipped": True}
                if "skipped" not in r:
                    r["round"] = rnd
                    key = ("errors", "inprocess", m, 1) if "error" in r else ("inprocess", m, 1)
                    results.setdefault(key, []).append(r.get("error", r) if "error" in r else r)
                for c in a.concurrency:
                    # Rotate the order each round so no server always runs first (or right after a heavy one).
                    order = active[rnd % len(active):] + active[:rnd % len(active)]
                    for s in order:
                        cpu0, t0 = cpu_seconds(pids[s]), time.time()
                        warm0 = cpu_seconds(pids[s], jit=False)
                        r = perf(a, s, m, c, window, os.path.join(a.workdir, f"r{rnd}-{s}-{m}-c{c}.csv"))
                        r["round"] = rnd
                        if "error" not in r and r["throughput"] > 0:
                            # The whole perf_analyzer run (its start included) over the calls it averaged.
                            calls = (time.time() - t0) * r["throughput"]
                            r["cpu_us"] = (cpu_seconds(pids[s]) - cpu0) / calls * 1e6
                            r["cpu_us_nojit"] = (cpu_seconds(pids[s], jit=False) - warm0) / calls * 1e6
                        key = ("errors", s, m, c) if "error" in r else (s, m, c)
                        results.setdefault(key, []).append(r.get("error", r) if "error" in r else r)
                        log(f"round {rnd + 1}/{a.rounds} {m} c{c} {s}: "
                            + (f"{r['throughput']:.1f} infer/s, p50 {r['p50_us'] / 1000:.2f} ms, "
                               f"{r.get('cpu_us', 0):.0f} us CPU per call"
                               if "error" not in r else f"FAILED {r['error']}"))
        for s in active:
            rss[s]["end"] = rss_mib(pids[s])
    finally:
        procs.stop_all()
    text = report(a, results, rss, started, load_start, os.getloadavg()[0], skipped)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
