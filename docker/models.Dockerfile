# MaaS model artifacts for the Helm chart's modelSource.type=image: an init container copies
# /models/<model>/<version> (and /models/<model>/config.pbtxt) into the inference Pod.
# The serving images never contain models; this image is versioned on its own.
#
# Built elsewhere, from the repo root, after the model repository is assembled:
#   mvn -B -pl models package        # -> models/target/repository/<model>/<version>/model.onnx
#   docker build -f docker/models.Dockerfile -t maas/models:0.1.0 .
FROM busybox:1.37

LABEL org.opencontainers.image.title="maas-models" \
      org.opencontainers.image.description="MaaS model repository (Triton layout) for init containers"

COPY models/target/repository/ /models/
RUN test -f "$(find /models -name model.onnx | head -n 1)"

USER 10001:10001
CMD ["ls", "-R", "/models"]
