"""Triton's official client against the router, on the one-command local system.

Starts `bin/maas up` in a private MAAS_HOME on free ports (registry, two inference instances
serving all-MiniLM-L6-v2 v1 fp32 as stable and v2 int8 as canary at 10%, router), then drives
the router with tritonclient.grpc exactly as it would drive Triton: readiness, metadata,
inference checked against ONNX Runtime, explicit versions, pins, and the weighted split; and the
router's REST twin with tritonclient.http (binary tensors).
Finally `bin/maas down` must leave no process behind.
"""
import os
import pathlib
import subprocess

import numpy as np
import onnxruntime as ort
import pytest

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from test_tritonclient import (IN_CI, MINILM_INPUTS, MODEL_REPO, TOLERANCE, _free_ports, _listening, grpc_inputs,
                               minilm_batch)

REPO = pathlib.Path(__file__).resolve().parents[2]
MAAS = REPO / "bin" / "maas"
JARS = [REPO / m / "target" / "quarkus-app" / "quarkus-run.jar"
        for m in ("inference-service", "model-registry", "router-service")] + [REPO / "maasctl" / "target" / "maasctl.jar"]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    missing = [str(j) for j in JARS if not j.exists()]
    if missing:
        msg = f"not built: {missing} (run ./mvnw -q -B install -DskipTests)"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    home = tmp_path_factory.mktemp("maas-home")
    ports = _free_ports(10)
    env = dict(os.environ, MAAS_HOME=str(home),
               MAAS_ROUTER_GRPC_PORT=str(ports[0]), MAAS_ROUTER_HTTP_PORT=str(ports[1]),
               MAAS_REGISTRY_GRPC_PORT=str(ports[2]), MAAS_REGISTRY_HTTP_PORT=str(ports[3]),
               MAAS_STABLE_GRPC_PORT=str(ports[4]), MAAS_STABLE_HTTP_PORT=str(ports[5]),
               MAAS_CANARY_GRPC_PORT=str(ports[6]), MAAS_CANARY_HTTP_PORT=str(ports[7]),
               MAAS_TEXT_GRPC_PORT=str(ports[8]), MAAS_TEXT_HTTP_PORT=str(ports[9]))
    up = subprocess.run([str(MAAS), "up"], env=env, cwd=REPO, capture_output=True, text=True, timeout=240)
    try:
        assert up.returncode == 0, f"bin/maas up failed:\n{up.stdout}\n{up.stderr}"
        key = (home / "api-key").read_text().strip()
        yield {"url": f"127.0.0.1:{ports[0]}", "http_url": f"127.0.0.1:{ports[1]}", "env": env, "home": home, "key": key}
    finally:
        down = subprocess.run([str(MAAS), "down"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr
        still = [p for p in ports if _listening(p) == "listening"]
        assert still == [], f"ports still served after bin/maas down: {still}"


class _WithKey:
    """The router serves known callers only (`bin/maas up` makes the key): model calls send it."""

    def __init__(self, client, key):
        self._client, self._key = client, key

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr) or name in ("is_server_live", "is_server_ready", "close"):
            return attr

        def call(*args, **kwargs):
            kwargs["headers"] = {"x-api-key": self._key, **(kwargs.get("headers") or {})}
            return attr(*args, **kwargs)
        return call


@pytest.fixture(scope="module")
def router(system):
    client = grpcclient.InferenceServerClient(url=system["url"])
    yield _WithKey(client, system["key"])
    client.close()


def test_a_call_without_the_key_is_refused_saying_what_to_send(system):
    client = grpcclient.InferenceServerClient(url=system["url"])
    try:
        assert client.is_server_ready()  # probes need no key
        with pytest.raises(InferenceServerException) as e:
            client.infer("minilm", grpc_inputs(minilm_batch()))
        assert "UNAUTHENTICATED" in str(e.value.status())
        assert "x-api-key" in e.value.message()
    finally:
        client.close()


def _reference(version, arrays):
    session = ort.InferenceSession(str(MODEL_REPO / "minilm" / str(version) / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    return session.run(["last_hidden_state"], arrays)[0]


def test_router_is_ready_and_forwards_metadata(router):
    assert router.is_server_live()
    assert router.is_server_ready()
    meta = router.get_model_metadata("minilm", as_json=True)
    assert [i["name"] for i in meta["inputs"]] == list(MINILM_INPUTS)
    assert meta["outputs"][0]["shape"][-1] == "384"
    assert router.is_model_ready("minilm", "2")


def test_inference_through_the_router_matches_onnx_runtime(router):
    arrays = minilm_batch()
    for version in ("1", "2"):
        result = router.infer("minilm", grpc_inputs(arrays), model_version=version)
        assert result.get_response().model_version == version
        got = result.as_numpy("last_hidden_state")
        assert np.max(np.abs(got - _reference(version, arrays))) <= TOLERANCE


def test_pin_header_and_canary_opt_out(router):
    arrays = minilm_batch()
    for _ in range(10):
        pinned = router.infer("minilm", grpc_inputs(arrays), headers={"x-model-version": "2"})
        assert pinned.get_response().model_version == "2"
        stable = router.infer("minilm", grpc_inputs(arrays), headers={"x-maas-canary": "never"})
        assert stable.get_response().model_version == "1"


def test_weighted_split_is_near_the_declared_ten_percent(router):
    arrays = {k: v[:1, :8] for k, v in minilm_batch().items()}
    versions = [router.infer("minilm", grpc_inputs(arrays)).get_response().model_version for _ in range(300)]
    canary = versions.count("2")
    # Binomial(300, 0.10): mean 30, sd 5.2; 12..54 is beyond 3.4 sd on either side.
    assert 12 <= canary <= 54, f"{canary} of 300 calls went to the canary"
    assert set(versions) == {"1", "2"}


def test_unknown_model_through_the_router(router):
    with pytest.raises(InferenceServerException) as e:
        router.infer("nope", grpc_inputs(minilm_batch()))
    assert "NOT_FOUND" in str(e.value.status())


@pytest.fixture(scope="module")
def router_http(system):
    import tritonclient.http as httpclient
    client = httpclient.InferenceServerClient(url=system["http_url"])
    yield _WithKey(client, system["key"])
    client.close()


def test_rest_twin_through_the_router(router_http):
    import tritonclient.http as httpclient
    assert router_http.is_server_ready()
    assert router_http.get_model_metadata("minilm")["outputs"][0]["name"] == "last_hidden_state"
    arrays = minilm_batch()
    inputs = []
    for name, arr in arrays.items():
        inp = httpclient.InferInput(name, list(arr.shape), "INT64")
        inp.set_data_from_numpy(arr, binary_data=True)
        inputs.append(inp)
    result = router_http.infer("minilm", inputs, headers={"x-model-version": "2"})
    assert result.get_response()["model_version"] == "2"
    got = result.as_numpy("last_hidden_state")
    assert np.max(np.abs(got - _reference("2", arrays))) <= TOLERANCE
