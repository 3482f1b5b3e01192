# MaaS inference-service, GPU image: onnxruntime_gpu (CUDA execution provider) on a CUDA 12 +
# cuDNN 9 runtime base, with the same Temurin JRE as the CPU image.
#
# Built elsewhere, from the repo root, with the gpu Maven profile (swaps in onnxruntime_gpu):
#   mvn -B -Pgpu -pl inference-service -am package -DskipTests
#   docker build -f docker/inference-service-gpu.Dockerfile -t maas/inference-service-gpu:0.1.0 .
# Keep the CUDA base in step with the CUDA/cuDNN major versions of the ONNX Runtime release in the POM.
# The node needs the NVIDIA driver and device plugin; the Helm GPU profile sets MAAS_DEVICE=cuda.
FROM eclipse-temurin:17-jre AS jre

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

LABEL org.opencontainers.image.title="maas-inference-service-gpu" \
      org.opencontainers.image.description="MaaS Open Inference Protocol server on ONNX Runtime with CUDA" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV JAVA_HOME=/opt/java/openjdk
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
ENV PATH="/opt/java/openjdk/bin:${PATH}"

RUN groupadd --gid 10001 maas \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /deployments --shell /usr/sbin/nologin maas

WORKDIR /deployments
COPY inference-service/target/quarkus-app/lib/ /deployments/lib/
COPY inference-service/target/quarkus-app/*.jar /deployments/
COPY inference-service/target/quarkus-app/app/ /deployments/app/
COPY inference-service/target/quarkus-app/quarkus/ /deployments/quarkus/
# Refuse a CPU build here: this image must carry onnxruntime_gpu (mvn -Pgpu).
RUN ls /deployments/lib/main/ | grep -q 'onnxruntime_gpu' \
 && java -version

ENV LANG=C.UTF-8 \
    JAVA_OPTS="-XX:MaxRAMPercentage=25 -XX:MaxDirectMemorySize=64m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000 -XX:CompileThresholdScaling=0.1 -XX:+ExitOnOutOfMemoryError" \
    MALLOC_ARENA_MAX=2 \
    MAAS_GRPC_PORT=8001 \
    MAAS_HTTP_PORT=8000 \
    MAAS_MODEL_REPOSITORY=/models \
    MAAS_DEVICE=cuda \
    ORT_DISABLE_TELEMETRY=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER 10001:10001
EXPOSE 8001 8000
ENTRYPOINT ["/bin/sh", "-c", "exec java ${JAVA_OPTS} -jar /deployments/quarkus-run.jar"]
