"""Independent conformance check: the MaaS inference service driven by Triton's official client.

Starts the built service (java -jar inference-service/target/quarkus-app/quarkus-run.jar
--model-repository models/target/repository) on two free loopback ports, then checks health,
metadata, model config, error statuses and inference with tritonclient.grpc (and the REST twin
with tritonclient.http). MiniLM results are compared with Python ONNX Runtime run on the
same .onnx file (max abs diff <= 1e-4).

Build first (`mvn -q -B install -DskipTests`), then: tools/conformance/run.sh
Without the jar the tests are skipped, unless CI is set: then a missing jar fails.
The server log goes to tools/conformance/target/tritonclient-server.log.
"""
import atexit
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pytest

import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

REPO = pathlib.Path(__file__).resolve().parents[2]
JAR = REPO / "inference-service" / "target" / "quarkus-app" / "quarkus-run.jar"
MODEL_REPO = REPO / "models" / "target" / "repository"
LOG = REPO / "tools" / "conformance" / "target" / "tritonclient-server.log"
START_TIMEOUT_S = 60
TOLERANCE = 1e-4

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

MINILM_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# v2 datatype of each identity-model tensor suffix (the ONNX string type travels as BYTES).
IDENTITY_TYPES = {
    "BOOL": ("BOOL", np.bool_),
    "INT8": ("INT8", np.int8),
    "INT16": ("INT16", np.int16),
    "INT32": ("INT32", np.int32),
    "INT64": ("INT64", np.int64),
    "UINT8": ("UINT8", np.uint8),
    "UINT16": ("UINT16", np.uint16),
    "UINT32": ("UINT32", np.uint32),
    "UINT64": ("UINT64", np.uint64),
    "FP16": ("FP16", np.float16),
    "FP32": ("FP32", np.float32),
    "FP64": ("FP64", np.float64),
    "STRING": ("BYTES", np.object_),
}


# --------------------------------------------------------------------------- server fixture

def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return "listening"
    except OSError:
        return "not listening"


def _log_tail(lines=60):
    try:
        return "\n".join(LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


_STARTED = {}


class Server:
    def __init__(self, grpc_port, http_port, proc, tmpdir):
        self.grpc_url = f"127.0.0.1:{grpc_port}"
        self.http_url = f"127.0.0.1:{http_port}"
        self.proc = proc
        self.tmpdir = tmpdir


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if not JAR.exists():
        msg = f"service jar not built: {JAR} (run `mvn -q -B install -DskipTests` first)"
        if IN_CI:
            pytest.fail(msg + "; CI is set, so this is a failure", pytrace=False)
        pytest.skip(msg)
    for model in ("minilm/1", "minilm/2", "simple/1", "identity/1"):
        if not (MODEL_REPO / model / "model.onnx").exists():
            pytest.fail(f"model repository incomplete: {MODEL_REPO / model / 'model.onnx'} missing "
                        "(run `mvn -q -B install -DskipTests`)", pytrace=False)
    java = shutil.which("java")
    if os.environ.get("JAVA_HOME") and (pathlib.Path(os.environ["JAVA_HOME"]) / "bin" / "java").exists():
        java = str(pathlib.Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    if java is None:
        pytest.fail("no java on PATH or JAVA_HOME", pytrace=False)

    grpc_port, http_port = _free_ports(2)
    env = dict(os.environ)
    env["ORT_DISABLE_TELEMETRY"] = "1"  # ONNX Runtime 1.29+ writes telemetry files without it
    env["MAAS_GRPC_PORT"] = str(grpc_port)
    env["MAAS_HTTP_PORT"] = str(http_port)
    # A TMPDIR of its own, to see whether ONNX Runtime drops telemetry files (.ses, mat-debug-*).
    tmpdir = tmp_path_factory.mktemp("service-tmp")
    env["TMPDIR"] = str(tmpdir)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    cmd = [java, "-jar", str(JAR), "--model-repository", str(MODEL_REPO)]
    with open(LOG, "wb") as log:
        log.write(f"# {' '.join(cmd)}  (grpc {grpc_port}, http {http_port})\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    atexit.register(_stop, proc)  # also when pytest itself is interrupted
    try:
        client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{grpc_port}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"service exited with {proc.returncode} during start; log {LOG}:\n{_log_tail()}",
                            pytrace=False)
            try:
                if client.is_server_ready(client_timeout=2):
                    break
            except InferenceServerException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"service not ready over gRPC within {START_TIMEOUT_S} s (gRPC port {grpc_port} "
                            f"{_listening(grpc_port)}, HTTP port {http_port} {_listening(http_port)}); "
                            f"log {LOG}:\n{_log_tail()}", pytrace=False)
            time.sleep(0.25)
        client.close()
        _STARTED["proc"] = proc
        yield Server(grpc_port, http_port, proc, tmpdir)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def client(server):
    client = grpcclient.InferenceServerClient(url=server.grpc_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def http_client(server):
    client = httpclient.InferenceServerClient(url=server.http_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _server_still_running():
    """After each test: a crash of the service is reported as such, not as a string of errors."""
    yield
    proc = _STARTED.get("proc")
    if proc is not None and proc.poll() is not None:
        pytest.fail(f"service died (exit {proc.returncode}); log {LOG}:\n{_log_tail()}", pytrace=False)


# --------------------------------------------------------------------------- inputs

def minilm_batch():
    """Batch 2, seq 16: row 0 fills the sequence, row 1 is padded (mask 0, id 0)."""
    ids = np.zeros((2, 16), dtype=np.int64)
    ids[0] = [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1998, 2059, 2770, 2185, 1012, 102]
    ids[1, :7] = [101, 7592, 2088, 1010, 2129, 2024, 102]
    mask = (ids != 0).astype(np.int64)
    types = np.zeros_like(ids)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def grpc_inputs(arrays, datatypes=None):
    result = []
    for name, arr in arrays.items():
        dt = (datatypes or {}).get(name) or _v2_type(arr)
        inp = grpcclient.InferInput(name, list(arr.shape), dt)
        inp.set_data_from_numpy(arr)
        result.append(inp)
    return result


def _v2_type(arr):
    from tritonclient.utils import np_to_triton_dtype
    return np_to_triton_dtype(arr.dtype)


def simple_inputs():
    a = np.arange(32, dtype=np.float32).reshape(2, 16)
    b = np.full((2, 16), 0.5, dtype=np.float32) * np.arange(1, 3, dtype=np.float32)[:, None]
    return a, b


# --------------------------------------------------------------------------- health and metadata

def test_server_live_and_ready(client):
    assert client.is_server_live()
    assert client.is_server_ready()


def test_server_metadata(client):
    md = client.get_server_metadata()
    assert md.name, "server metadata has an empty name"
    assert md.version, "server metadata has an empty version"


def test_minilm_metadata(client):
    md = client.get_model_metadata("minilm")
    assert md.name == "minilm"
    assert {"1", "2"} <= set(md.versions), f"versions {list(md.versions)}"
    inputs = {t.name: t for t in md.inputs}
    assert set(inputs) == set(MINILM_INPUTS), f"inputs {list(inputs)}"
    for t in inputs.values():
        assert t.datatype == "INT64", f"{t.name}: {t.datatype}"
        assert len(t.shape) == 2, f"{t.name}: shape {list(t.shape)}"
    outputs = {t.name: t for t in md.outputs}
    assert "last_hidden_state" in outputs, f"outputs {list(outputs)}"
    out = outputs["last_hidden_state"]
    assert out.datatype == "FP32"
    assert len(out.shape) == 3 and out.shape[-1] == 384, f"shape {list(out.shape)}"


@pytest.mark.parametrize("version", ["1", "2"])
def test_minilm_version_ready(client, version):
    assert client.is_model_ready("minilm", version)


def test_minilm_model_config(client):
    cfg = client.get_model_config("minilm").config
    assert cfg.max_batch_size == 32


# --------------------------------------------------------------------------- inference

@pytest.mark.parametrize("version", ["1", "2"])
def test_minilm_infer_matches_onnxruntime(client, version):
    import onnxruntime as ort

    feeds = minilm_batch()
    result = client.infer("minilm", grpc_inputs(feeds), model_version=version,
                        outputs=[grpcclient.InferRequestedOutput("last_hidden_state")])
    got = result.as_numpy("last_hidden_state")
    assert got is not None, "no last_hidden_state in the response"

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL_REPO / "minilm" / version / "model.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    (want,) = sess.run(["last_hidden_state"], feeds)
    assert got.dtype == np.float32 and got.shape == want.shape == (2, 16, 384), (got.dtype, got.shape)
    diff = float(np.max(np.abs(got - want)))
    assert diff <= TOLERANCE, f"max abs diff {diff} > {TOLERANCE}"
    resp = result.get_response()
    assert resp.model_name == "minilm"
    assert resp.model_version == version


def test_simple_infer(client):
    a, b = simple_inputs()
    result = client.infer("simple", grpc_inputs({"INPUT0": a, "INPUT1": b}))
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)


def test_simple_infer_only_output1(client):
    a, b = simple_inputs()
    result = client.infer("simple", grpc_inputs({"INPUT0": a, "INPUT1": b}),
                        outputs=[grpcclient.InferRequestedOutput("OUTPUT1")])
    names = [o.name for o in result.get_response().outputs]
    assert names == ["OUTPUT1"], f"outputs returned: {names}"
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)


def test_simple_infer_typed_contents(server):
    """`contents.fp32_contents` instead of raw_input_contents (tritonclient itself sends raw)."""
    import grpc
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    a, b = simple_inputs()
    req = service_pb2.ModelInferRequest(model_name="simple")
    for name, arr in (("INPUT0", a), ("INPUT1", b)):
        t = req.inputs.add(name=name, datatype="FP32", shape=list(arr.shape))
        t.contents.fp32_contents.extend(arr.ravel().tolist())
    with grpc.insecure_channel(server.grpc_url) as channel:
        resp = service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(req, timeout=10)
    outs = {}
    for i, o in enumerate(resp.outputs):
        assert o.datatype == "FP32" and list(o.shape) == [2, 16], (o.name, o.datatype, list(o.shape))
        if resp.raw_output_contents:
            outs[o.name] = np.frombuffer(resp.raw_output_contents[i], dtype="<f4").reshape(2, 16)
        else:
            outs[o.name] = np.array(o.contents.fp32_contents, dtype=np.float32).reshape(2, 16)
    np.testing.assert_array_equal(outs["OUTPUT0"], a + b)
    np.testing.assert_array_equal(outs["OUTPUT1"], a - b)


def test_identity_round_trips_every_datatype(client):
    rng = np.random.default_rng(7)
    arrays, types = {}, {}
    for i, (suffix, (v2, np_type)) in enumerate(IDENTITY_TYPES.items()):
        shape = (2, 3 + i % 3)
        n = shape[0] * shape[1]
        if suffix == "STRING":
            arr = np.array([f"tok-{k}-\u00e9\u4e2d".encode() for k in range(n - 1)] + [b""],
                           dtype=np.object_).reshape(shape)
        elif suffix == "BOOL":
            arr = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif np.issubdtype(np_type, np.integer):
            info = np.iinfo(np_type)
            arr = rng.integers(info.min, info.max, size=shape, dtype=np_type, endpoint=True)
            arr.flat[0], arr.flat[1] = info.min, info.max
        else:
            arr = (rng.standard_normal(shape) * 100).astype(np_type)
        arrays[f"IN_{suffix}"] = arr
        types[f"IN_{suffix}"] = v2
    result = client.infer("identity", grpc_inputs(arrays, types))
    problems = []
    for suffix, (v2, _) in IDENTITY_TYPES.items():
        sent = arrays[f"IN_{suffix}"]
        out = next((o for o in result.get_response().outputs if o.name == f"OUT_{suffix}"), None)
        if out is None:
            problems.append(f"OUT_{suffix}: missing")
            continue
        if out.datatype != v2:
            problems.append(f"OUT_{suffix}: datatype {out.datatype}, expected {v2}")
            continue
        got = result.as_numpy(f"OUT_{suffix}")
        if got.shape != sent.shape:
            problems.append(f"OUT_{suffix}: shape {got.shape}, expected {sent.shape}")
        elif got.dtype != sent.dtype or not np.array_equal(got, sent):
            problems.append(f"OUT_{suffix}: data differ: sent {sent.ravel()[:4]}, got {got.ravel()[:4]} ({got.dtype})")
    assert not problems, "\n".join(problems)


def test_identity_metadata_datatypes(client):
    md = client.get_model_metadata("identity")
    got = {t.name: t.datatype for t in md.inputs}
    want = {f"IN_{s}": v2 for s, (v2, _) in IDENTITY_TYPES.items()}
    assert got == want


# --------------------------------------------------------------------------- errors

def _status(call):
    with pytest.raises(InferenceServerException) as info:
        call()
    return str(info.value.status()), str(info.value)


def test_unknown_model_infer_is_not_found(client):
    a, b = simple_inputs()
    status, msg = _status(lambda: client.infer("no_such_model", grpc_inputs({"INPUT0": a, "INPUT1": b})))
    assert "NOT_FOUND" in status, msg


def test_unknown_model_metadata_is_not_found(client):
    status, msg = _status(lambda: client.get_model_metadata("no_such_model"))
    assert "NOT_FOUND" in status, msg


def test_unknown_version_is_not_found(client):
    a, b = simple_inputs()
    status, msg = _status(lambda: client.infer("simple", grpc_inputs({"INPUT0": a, "INPUT1": b}), model_version="99"))
    assert "NOT_FOUND" in status, msg


def test_wrong_shape_is_invalid_argument(client):
    a = np.zeros((2, 8), dtype=np.float32)
    status, msg = _status(lambda: client.infer("simple", grpc_inputs({"INPUT0": a, "INPUT1": a})))
    assert "INVALID_ARGUMENT" in status, msg


def test_wrong_datatype_is_invalid_argument(client):
    a = np.zeros((2, 16), dtype=np.int32)
    status, msg = _status(lambda: client.infer("simple", grpc_inputs({"INPUT0": a, "INPUT1": a})))
    assert "INVALID_ARGUMENT" in status, msg


def test_unknown_input_name_is_invalid_argument(client):
    a, b = simple_inputs()
    status, msg = _status(lambda: client.infer("simple", grpc_inputs({"INPUT0": a, "NOPE": b})))
    assert "INVALID_ARGUMENT" in status, msg


# --------------------------------------------------------------------------- REST twin

def test_http_live_and_ready(http_client):
    assert http_client.is_server_live()
    assert http_client.is_server_ready()
    assert http_client.is_model_ready("simple")


def test_http_simple_infer_json(http_client):
    a, b = simple_inputs()
    inputs = []
    for name, arr in (("INPUT0", a), ("INPUT1", b)):
        inp = httpclient.InferInput(name, list(arr.shape), "FP32")
        inp.set_data_from_numpy(arr, binary_data=False)
        inputs.append(inp)
    outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in ("OUTPUT0", "OUTPUT1")]
    result = http_client.infer("simple", inputs, outputs=outputs)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)



def _http_inputs(arrays, binary):
    result = []
    for name, arr in arrays.items():
        inp = httpclient.InferInput(name, list(arr.shape), _v2_type(arr))
        inp.set_data_from_numpy(arr, binary_data=binary)
        result.append(inp)
    return result


def test_http_simple_infer_binary(http_client):
    """tritonclient.http's default: Triton's binary tensor extension."""
    a, b = simple_inputs()
    result = http_client.infer("simple", _http_inputs({"INPUT0": a, "INPUT1": b}, binary=True))
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)


def test_http_unknown_model_is_404(http_client):
    status, msg = _status(lambda: http_client.get_model_metadata("no_such_model"))
    assert status == "404", msg


def test_http_wrong_shape_is_400(http_client):
    a = np.zeros((2, 8), dtype=np.float32)
    status, msg = _status(lambda: http_client.infer("simple", _http_inputs({"INPUT0": a, "INPUT1": a}, binary=False)))
    assert status == "400", msg


# --------------------------------------------------------------------------- pipelines (text in)

def _reference(name):
    import json
    path = REPO / "inference-service" / "src" / "test" / "resources" / "pipelines" / name
    return json.loads(path.read_text(encoding="utf-8"))


def _text_input(texts, client_module):
    arr = np.array([[t.encode("utf-8")] for t in texts], dtype=np.object_)
    inp = client_module.InferInput("TEXT", list(arr.shape), "BYTES")
    inp.set_data_from_numpy(arr)
    return inp


def test_minilm_embed_text_in_embedding_out(client):
    """The pipeline as Triton's client sees an ensemble: BYTES text in, FP32 [n, 384] out."""
    md = client.get_model_metadata("minilm-embed")
    assert md.platform == "ensemble", md
    cfg = client.get_model_config("minilm-embed").config
    assert [s.model_name for s in cfg.ensemble_scheduling.step] == ["minilm-tokenizer", "minilm", "mean-pooling"]
    ref = _reference("minilm-embed-reference.json")["sentences"]
    result = client.infer("minilm-embed", [_text_input([s["text"] for s in ref], grpcclient)])
    got = result.as_numpy("EMBEDDING")
    want = np.array([s["embedding"] for s in ref], dtype=np.float32)
    assert got.shape == want.shape == (len(ref), 384), got.shape
    diff = float(np.max(np.abs(got - want)))
    assert diff <= TOLERANCE, f"max abs diff {diff} > {TOLERANCE}"


def test_minilm_classify_over_http(http_client):
    ref = _reference("minilm-classify-reference.json")["texts"]
    result = http_client.infer("minilm-classify", [_text_input([t["text"] for t in ref], httpclient)])
    labels = [[l.decode("utf-8") for l in row] for row in result.as_numpy("LABEL")]
    assert labels == [t["labels"] for t in ref], labels
    np.testing.assert_allclose(result.as_numpy("SCORE"), [t["scores"] for t in ref], atol=TOLERANCE)


def test_classification_extension_class_count(client):
    """tritonclient's class_count: the output comes back as 'score:index:label', best first."""
    embedded = client.infer("minilm-embed", [_text_input(["My flight to Rome was delayed by six hours."],
                                                         grpcclient)]).as_numpy("EMBEDDING")
    inp = grpcclient.InferInput("embedding", list(embedded.shape), "FP32")
    inp.set_data_from_numpy(embedded)
    result = client.infer("topic-zero-shot", [inp],
                          outputs=[grpcclient.InferRequestedOutput("scores", class_count=2)])
    top = [e.decode("utf-8") for e in result.as_numpy("scores").reshape(-1)]
    assert len(top) == 2 and top[0].endswith(":3:travel"), top


def test_bad_text_is_invalid_argument(client):
    arr = np.array([[b"\xc3"]], dtype=np.object_)
    inp = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
    inp.set_data_from_numpy(arr)
    status, msg = _status(lambda: client.infer("minilm-embed", [inp]))
    assert "INVALID_ARGUMENT" in status and "UTF-8" in msg, (status, msg)


# --------------------------------------------------------------------------- repository extension

def test_repository_index_lists_ready_versions(client):
    index = client.get_model_repository_index()
    ready = {(m.name, m.version) for m in index.models if m.state == "READY"}
    assert {("minilm", "1"), ("minilm", "2"), ("simple", "1"), ("simple", "2"), ("identity", "1")} <= ready, index

# --------------------------------------------------------------------------- no telemetry

def test_no_onnxruntime_telemetry_files(server):
    """ORT 1.29 writes $TMPDIR/.ses and mat-debug-<pid>.log; the service must not (runs last)."""
    found = [p.name for p in server.tmpdir.iterdir() if p.name == ".ses" or p.name.startswith("mat-debug")]
    assert not found, f"telemetry files in the service's TMPDIR {server.tmpdir}: {found}"
