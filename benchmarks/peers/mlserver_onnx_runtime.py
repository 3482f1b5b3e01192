"""An MLServer custom runtime serving an ONNX file through onnxruntime (MLServer 1.7 ships no ONNX
runtime of its own). parameters.uri is the .onnx path; batching is MLServer's adaptive batching,
configured in model-settings.json like our config.pbtxt."""
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

import ort_session


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        self._session = ort_session.session(self.settings.parameters.uri)
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        results = self._session.run(self._outputs, feeds)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(name, array) for name, array in zip(self._outputs, results)],
        )
