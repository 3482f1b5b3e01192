"""ONNX Runtime called in-process at batch 1 in a loop: the floor every server is compared with.
Same session options as the peers; inputs built once from the same data file perf_analyzer sends.

  python inprocess.py --model PATH --data input.json --seconds S   -> one JSON line
"""
import argparse
import json
import time

import numpy as np

import ort_session

_NP = {"FP32": np.float32, "INT64": np.int64, "INT32": np.int32}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    a = p.parse_args()
    session = ort_session.session(a.model)
    types = {s["name"]: s["datatype"] for s in ort_session.signature(session.get_inputs())}
    with open(a.data) as fh:
        sample = json.load(fh)["data"][0]
    feeds = {n: np.asarray(v["content"], dtype=_NP[types[n]]).reshape([1] + v["shape"]) for n, v in sample.items()}
    end = time.perf_counter() + a.warmup_seconds
    while time.perf_counter() < end:
        session.run(None, feeds)
    latencies = []
    start = time.perf_counter()
    end = start + a.seconds
    while True:
        t0 = time.perf_counter()
        session.run(None, feeds)
        t1 = time.perf_counter()
        latencies.append(t1 - t0)
        if t1 >= end:
            break
    latencies.sort()
    print(json.dumps({"throughput": len(latencies) / (t1 - start),
                      "p50_us": latencies[len(latencies) // 2] * 1e6}))


if __name__ == "__main__":
    main()
