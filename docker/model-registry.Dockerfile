# MaaS model-registry (JVM image).
#
# Built elsewhere (no Docker engine runs where this repository is developed), from the repo root:
#   mvn -B -pl model-registry -am package -DskipTests
#   docker build -f docker/model-registry.Dockerfile -t maas/model-registry:0.1.0 .
# Runs as uid 10001 with a read-only root filesystem (the Helm chart mounts /tmp).
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="maas-model-registry" \
      org.opencontainers.image.description="MaaS model registry: catalog, routing table and watch stream" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 maas \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /deployments --shell /usr/sbin/nologin maas

WORKDIR /deployments
COPY model-registry/target/quarkus-app/lib/ /deployments/lib/
COPY model-registry/target/quarkus-app/*.jar /deployments/
COPY model-registry/target/quarkus-app/app/ /deployments/app/
COPY model-registry/target/quarkus-app/quarkus/ /deployments/quarkus/

ENV LANG=C.UTF-8 \
    JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError" \
    MAAS_GRPC_PORT=9001 \
    MAAS_HTTP_PORT=9000 \
    MAAS_REGISTRY_DB_KIND=h2 \
    MAAS_REGISTRY_DATA_DIR=/var/lib/maas-registry

USER 10001:10001
EXPOSE 9001 9000
ENTRYPOINT ["/bin/sh", "-c", "exec java ${JAVA_OPTS} -jar /deployments/quarkus-run.jar"]
