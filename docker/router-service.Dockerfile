# MaaS router-service (JVM image).
#
# Built elsewhere (no Docker engine runs where this repository is developed), from the repo root:
#   mvn -B -pl router-service -am package -DskipTests
#   docker build -f docker/router-service.Dockerfile -t maas/router-service:0.1.0 .
# Runs as uid 10001 with a read-only root filesystem (the Helm chart mounts /tmp).
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="maas-router-service" \
      org.opencontainers.image.description="MaaS router: Open Inference Protocol front door with canary split" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 maas \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /deployments --shell /usr/sbin/nologin maas

WORKDIR /deployments
COPY router-service/target/quarkus-app/lib/ /deployments/lib/
COPY router-service/target/quarkus-app/*.jar /deployments/
COPY router-service/target/quarkus-app/app/ /deployments/app/
COPY router-service/target/quarkus-app/quarkus/ /deployments/quarkus/

ENV LANG=C.UTF-8 \
    JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError" \
    MAAS_GRPC_PORT=8001 \
    MAAS_HTTP_PORT=8000

USER 10001:10001
EXPOSE 8001 8000
ENTRYPOINT ["/bin/sh", "-c", "exec java ${JAVA_OPTS} -jar /deployments/quarkus-run.jar"]
