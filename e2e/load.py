"""Triton's Python client (tritonclient.grpc) as the e2e harness's client.

  load.py run --target IP:PORT --events FILE [--model minilm] [--rate 20] [--concurrency 1]
              [--duration S] [--header k=v ...] [--deadline-ms 10000]
      Sends ModelInfer calls steadily until SIGTERM (or --duration) and appends one line per
      finished call to FILE: "<epoch seconds> <model version or -> <ok|err> [error text]".
  load.py summary --events FILE [--since EPOCH] [--until EPOCH]
      Prints JSON {sent, failed, versions: {version: calls}, errors: [first 5]} for the window.
  load.py compare --target IP:PORT --repository DIR [--model minilm] [--version V]
      One ModelInfer through TARGET compared with ONNX Runtime on DIR/<model>/<version>/model.onnx
      (max abs diff <= 1e-4, as tools/conformance checks); prints JSON, exits 1 on a mismatch.
  load.py call --target IP:PORT [--model minilm] [--header k=v ...]
      One ModelInfer with exactly these headers; prints JSON {code, message|version}.
Only addresses the harness gives it (pod IPs inside its own network namespaces).
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

import numpy as np

TOLERANCE = 1e-4


def minilm_inputs():
    """Batch 2, seq 16: row 0 fills the sequence, row 1 is padded (mask 0, id 0)."""
    ids = np.zeros((2, 16), dtype=np.int64)
    ids[0] = [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1998, 2059, 2770, 2185, 1012, 102]
    ids[1, :7] = [101, 7592, 2088, 1010, 2129, 2024, 102]
    return {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64), "token_type_ids": np.zeros_like(ids)}


def grpc_inputs(arrays):
    import tritonclient.grpc as g
    out = []
    for name, a in arrays.items():
        i = g.InferInput(name, list(a.shape), "INT64")
        i.set_data_from_numpy(a)
        out.append(i)
    return out


def headers_of(pairs, target=None):
    """--header k=v pairs, plus the router's API key that e2e_router_ip saved for the target's IP."""
    headers = dict(p.split("=", 1) for p in pairs or [])
    state = os.environ.get("E2E_STATE")
    if target and state and "x-api-key" not in headers:
        key_file = os.path.join(state, "api-keys", target.rsplit(":", 1)[0])
        if os.path.exists(key_file):
            with open(key_file) as f:
                headers["x-api-key"] = f.read().strip()
    return headers


def run(args):
    import tritonclient.grpc as g
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = threading.Lock()
    out = open(args.events, "a", buffering=1)
    inputs = grpc_inputs(minilm_inputs())
    headers = headers_of(args.header, args.target)
    end = time.time() + args.duration if args.duration else None
    interval = args.concurrency / args.rate if args.rate > 0 else 0

    def worker():
        client = g.InferenceServerClient(url=args.target)
        nxt = time.time()
        while not stop.is_set() and (end is None or time.time() < end):
            try:
                r = client.infer(args.model, inputs, model_version=args.version or "", headers=headers,
                                 client_timeout=args.deadline_ms / 1000.0)
                line = f"{time.time():.3f} {r.get_response().model_version or '-'} ok"
            except Exception as e:  # every failure counts, whatever its kind
                text = " ".join(str(e).split())[:300]
                line = f"{time.time():.3f} - err {text}"
            with lock:
                out.write(line + "\n")
            nxt += interval
            delay = nxt - time.time()
            if delay > 0:
                stop.wait(delay)
            else:
                nxt = time.time()
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


def summary(args):
    sent = failed = 0
    versions, errors = {}, []
    with open(args.events) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) < 3:
                continue
            t = float(parts[0])
            if (args.since and t < args.since) or (args.until and t > args.until):
                continue
            sent += 1
            if parts[2] == "ok":
                versions[parts[1]] = versions.get(parts[1], 0) + 1
            else:
                failed += 1
                if len(errors) < 5:
                    errors.append(parts[3] if len(parts) > 3 else "")
    print(json.dumps({"sent": sent, "failed": failed, "versions": versions, "errors": errors}))


def compare(args):
    import onnxruntime as ort
    import tritonclient.grpc as g
    arrays = minilm_inputs()
    client = g.InferenceServerClient(url=args.target)
    r = client.infer(args.model, grpc_inputs(arrays), model_version=args.version or "",
                     headers=headers_of(args.header, args.target), client_timeout=30)
    version = r.get_response().model_version
    got = r.as_numpy("last_hidden_state")
    session = ort.InferenceSession(f"{args.repository}/{args.model}/{version}/model.onnx",
                                   providers=["CPUExecutionProvider"])
    want = session.run(["last_hidden_state"], arrays)[0]
    diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    ok = got.shape == want.shape and diff <= TOLERANCE
    print(json.dumps({"version": version, "shape": list(got.shape), "max_abs_diff": diff, "ok": ok}))
    sys.exit(0 if ok else 1)


def call(args):
    """One ModelInfer with exactly the given headers (no saved key): prints {"code", "message"}."""
    import tritonclient.grpc as g
    from tritonclient.utils import InferenceServerException
    client = g.InferenceServerClient(url=args.target)
    headers = dict(p.split("=", 1) for p in args.header or [])
    try:
        r = client.infer(args.model, grpc_inputs(minilm_inputs()), headers=headers, client_timeout=30)
        print(json.dumps({"code": "OK", "version": r.get_response().model_version}))
    except InferenceServerException as e:
        print(json.dumps({"code": str(e.status()).replace("StatusCode.", ""), "message": e.message()}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--target", required=True)
    r.add_argument("--events", required=True)
    r.add_argument("--model", default="minilm")
    r.add_argument("--version", default="")
    r.add_argument("--rate", type=float, default=20.0, help="calls per second in all (0: as fast as possible)")
    r.add_argument("--concurrency", type=int, default=1)
    r.add_argument("--duration", type=float, default=0)
    r.add_argument("--deadline-ms", type=float, default=10000)
    r.add_argument("--header", action="append")
    s = sub.add_parser("summary")
    s.add_argument("--events", required=True)
    s.add_argument("--since", type=float, default=0)
    s.add_argument("--until", type=float, default=0)
    c = sub.add_parser("compare")
    c.add_argument("--target", required=True)
    c.add_argument("--repository", required=True)
    c.add_argument("--model", default="minilm")
    c.add_argument("--version", default="")
    c.add_argument("--header", action="append")
    k = sub.add_parser("call")
    k.add_argument("--target", required=True)
    k.add_argument("--model", default="minilm")
    k.add_argument("--header", action="append")
    a = p.parse_args()
    {"run": run, "summary": summary, "compare": compare, "call": call}[a.cmd](a)


if __name__ == "__main__":
    main()
