"""Answers Triton's ModelConfig RPC on a peer's gRPC server, which perf_analyzer calls once at start.

KServe's and MLServer's Open Inference Protocol services have no ModelConfig method. The harness asks
our inference pod for each model's ModelConfigResponse, stores its serialized bytes, and this module
adds one generic handler to every grpc.aio server the peer creates, so perf_analyzer gets the same
answer from every server and drives them all alike. Only that one method is added; a peer's own
methods are looked up first and stay untouched. site/sitecustomize.py installs it at interpreter start.
"""
import os

import grpc

_METHOD = "/inference.GRPCInferenceService/ModelConfig"


def _model_name(request: bytes) -> str:
    # ModelConfigRequest: field 1 (name, string). Minimal decoder: tag 0x0a, varint length, bytes.
    if not request or request[0] != 0x0A:
        return ""
    length, shift, i = 0, 0, 1
    while True:
        b = request[i]
        length |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            break
        shift += 7
    return request[i:i + length].decode()


class _ConfigHandler(grpc.GenericRpcHandler):
    def __init__(self, config_dir):
        self._configs = {}
        for f in os.listdir(config_dir):
            if f.endswith(".bin"):
                with open(os.path.join(config_dir, f), "rb") as fh:
                    self._configs[f[:-4]] = fh.read()

    def service(self, handler_call_details):
        if handler_call_details.method != _METHOD:
            return None

        # A coroutine: both peers run grpc.aio servers, whose interceptors await the handler.
        async def model_config(request, context):
            name = _model_name(request)
            if name not in self._configs:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"no model config for '{name}'")
            return self._configs[name]

        # Identity (de)serializers: the bytes are already a serialized ModelConfigResponse.
        return grpc.unary_unary_rpc_method_handler(model_config)


def install():
    config_dir = os.environ.get("MAAS_BENCH_MODEL_CONFIGS")
    if not config_dir:
        return
    handler = _ConfigHandler(config_dir)
    original = grpc.aio.server

    def server(*args, **kwargs):
        s = original(*args, **kwargs)
        s.add_generic_rpc_handlers((handler,))
        return s

    grpc.aio.server = server
