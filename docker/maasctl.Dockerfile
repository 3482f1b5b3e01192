# MaaS maasctl, the registry CLI (one shaded jar). The Helm chart runs it as the
# maas-register-models hook Job (maasctl register-repository); usable ad hoc too:
#   docker run --rm maas/maasctl:0.1.0 --help
#
# Built elsewhere (no Docker engine runs where this repository is developed), from the repo root:
#   mvn -B -pl maasctl -am package -DskipTests
#   docker build -f docker/maasctl.Dockerfile -t maas/maasctl:0.1.0 .
# Runs as uid 10001 with a read-only root filesystem (it writes no files).
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="maas-maasctl" \
      org.opencontainers.image.description="MaaS maasctl: registers model versions and steers their traffic in the model registry" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 maas \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /deployments --shell /usr/sbin/nologin maas

WORKDIR /deployments
COPY maasctl/target/maasctl.jar /deployments/maasctl.jar

# A short-lived CLI: no JIT warm-up worth paying for, and a small heap.
ENV LANG=C.UTF-8 \
    JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"

USER 10001:10001
# sh -c for ${JAVA_OPTS}; "$@" passes the container's args (the maasctl command line) through.
ENTRYPOINT ["/bin/sh", "-c", "exec java ${JAVA_OPTS} -jar /deployments/maasctl.jar \"$@\"", "maasctl"]
