"""One ONNX Runtime session configured like our inference pod's: every graph optimisation, sequential
execution, 1 inter-op thread, MAAS_BENCH_THREADS intra-op threads, CPU only. Shared by the peers and
the in-process baseline so they all run the model the same way."""
import os

import onnxruntime as ort

_TYPES = {"tensor(float)": "FP32", "tensor(int64)": "INT64", "tensor(int32)": "INT32",
          "tensor(double)": "FP64", "tensor(bool)": "BOOL", "tensor(float16)": "FP16"}


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(os.environ.get("MAAS_BENCH_THREADS", "2"))
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def signature(args):
    """[{name, datatype, shape}] with -1 for every dynamic dimension."""
    return [{"name": a.name, "datatype": _TYPES[a.type],
             "shape": [d if isinstance(d, int) else -1 for d in a.shape]} for a in args]
