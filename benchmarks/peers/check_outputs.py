"""Sends each model's benchmark request once to every server (tritonclient, gRPC) and checks that the
outputs match our pod's, so every row of the table is known to run the same model on the same input.

  python check_outputs.py INPUT_DIR REFERENCE_PORT NAME=PORT ...   (exit 1 on a mismatch)
"""
import json
import os
import sys

import numpy as np
import tritonclient.grpc as grpcclient

_NP = {"FP32": np.float32, "INT64": np.int64, "INT32": np.int32}


def infer(port, model, sample):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    meta = client.get_model_metadata(model)
    types = {i.name: i.datatype for i in meta.inputs}
    inputs = []
    for name, v in sample.items():
        array = np.asarray(v["content"], dtype=_NP[types[name]]).reshape([1] + v["shape"])
        t = grpcclient.InferInput(name, list(array.shape), types[name])
        t.set_data_from_numpy(array)
        inputs.append(t)
    result = client.infer(model, inputs)
    return {o.name: result.as_numpy(o.name) for o in meta.outputs}


def main():
    input_dir, reference, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = False
    for f in sorted(os.listdir(input_dir)):
        if not (f.startswith("input-") and f.endswith(".json")):
            continue
        model = f[len("input-"):-len(".json")]
        with open(os.path.join(input_dir, f)) as fh:
            sample = json.load(fh)["data"][0]
        expected = infer(reference, model, sample)
        for server in servers:
            name, port = server.split("=")
            got = infer(port, model, sample)
            for out, want in expected.items():
                ok = out in got and got[out].shape == want.shape and np.allclose(got[out], want, rtol=1e-4, atol=1e-4)
                if not ok:
                    failed = True
                    print(f"{name} {model} {out}: differs from our pod's output", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
