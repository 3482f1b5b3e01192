# MaaS inference-service, CPU image (ONNX Runtime CPU build).
#
# Built elsewhere (no Docker engine runs where this repository is developed), from the repo root:
#   mvn -B -pl inference-service -am package -DskipTests
#   docker build -f docker/inference-service.Dockerfile -t maas/inference-service:0.1.0 .
# Models are not in the image: the Helm chart copies them into an emptyDir at start
# (MAAS_MODEL_REPOSITORY). Runs as uid 10001 with a read-only root filesystem; /tmp must be
# writable (ONNX Runtime unpacks its native library into java.io.tmpdir). The heap is a quarter of the
# container's memory limit (ONNX Runtime keeps models outside it); docs/benchmarks.md, "Memory".
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="maas-inference-service" \
      org.opencontainers.image.description="MaaS Open Inference Protocol server on ONNX Runtime (CPU)" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 maas \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /deployments --shell /usr/sbin/nologin maas

WORKDIR /deployments
# Quarkus fast-jar layout, dependencies first so they cache as their own layer.
COPY inference-service/target/quarkus-app/lib/ /deployments/lib/
COPY inference-service/target/quarkus-app/*.jar /deployments/
COPY inference-service/target/quarkus-app/app/ /deployments/app/
COPY inference-service/target/quarkus-app/quarkus/ /deployments/quarkus/
# Refuse a GPU build here: this image must carry the CPU ONNX Runtime.
RUN ls /deployments/lib/main/ | grep -q '^com.microsoft.onnxruntime.onnxruntime-[0-9]' \
 && ! ls /deployments/lib/main/ | grep -q 'onnxruntime_gpu'

ENV LANG=C.UTF-8 \
    JAVA_OPTS="-XX:MaxRAMPercentage=25 -XX:MaxDirectMemorySize=64m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000 -XX:CompileThresholdScaling=0.1 -XX:+ExitOnOutOfMemoryError" \
    MALLOC_ARENA_MAX=2 \
    MAAS_GRPC_PORT=8001 \
    MAAS_HTTP_PORT=8000 \
    MAAS_MODEL_REPOSITORY=/models \
    MAAS_DEVICE=cpu \
    ORT_DISABLE_TELEMETRY=1

USER 10001:10001
EXPOSE 8001 8000
ENTRYPOINT ["/bin/sh", "-c", "exec java ${JAVA_OPTS} -jar /deployments/quarkus-run.jar"]
