"""KServe's Python ModelServer serving ONNX files through onnxruntime: the custom Model class a KServe
user writes for an ONNX model on CPU. Open Inference Protocol gRPC and REST, no batching (KServe's
ModelServer has none).

  python kserve_server.py --grpc-port P --http-port P --model NAME=PATH [--model NAME=PATH ...]
"""
import argparse

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

import ort_session


class OnnxModel(Model):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path
        self.session = None
        self.load()

    def load(self):
        self.session = ort_session.session(self.path)
        self.ready = True
        return self.ready

    async def get_input_types(self):
        return ort_session.signature(self.session.get_inputs())

    async def get_output_types(self):
        return ort_session.signature(self.session.get_outputs())

    # Synchronous, as most KServe models are written: KServe calls it on its event loop.
    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        names = [o.name for o in self.session.get_outputs()]
        results = self.session.run(names, feeds)
        outputs = []
        for name, array in zip(names, results):
            out = InferOutput(name=name, shape=list(array.shape), datatype="FP32")
            out.set_data_from_numpy(array, binary_data=True)
            outputs.append(out)
        return InferResponse(model_name=self.name, infer_outputs=outputs, response_id=payload.id,
                             use_binary_outputs=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--model", action="append", required=True, help="NAME=PATH")
    a = p.parse_args()
    models = [OnnxModel(*m.split("=", 1)) for m in a.model]
    ModelServer(grpc_port=a.grpc_port, http_port=a.http_port, workers=1, enable_docs_url=False).start(models)


if __name__ == "__main__":
    main()
