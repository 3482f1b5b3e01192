package io.maas.router.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.maas.router.adapters.RouterConfig;
import io.maas.router.domain.RouterState;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;

/**
 * The plaintext probe port (MAAS_TLS_PROBE_PORT): liveness and readiness only, nothing else, so that
 * kubelet can probe a router whose ports require TLS and client certificates. It reveals no more
 * than whether the router is up and ready.
 */
@ApplicationScoped
public class ProbePort {
    private static final System.Logger LOG = System.getLogger(ProbePort.class.getName());

    @Inject
    RouterConfig config;
    @Inject
    RouterState state;
    @Inject
    Vertx vertx;

    private HttpServer server;

    void start(@Observes StartupEvent event) {
        var port = config.tls().probePort();
        if (port.isEmpty()) {
            return;
        }
        server = vertx.createHttpServer().requestHandler(request -> {
            int status = request.method() != HttpMethod.GET ? 405 : switch (request.path()) {
                case "/v2/health/live" -> 200;
                case "/v2/health/ready" -> state.ready() ? 200 : 503;
                default -> 404;
            };
            request.response().setStatusCode(status).end();
        });
        server.listen(port.get(), config.server().host()).toCompletionStage().toCompletableFuture().join();
        LOG.log(System.Logger.Level.INFO, "probe port (plaintext, /v2/health/live and /ready only) on {0}", String.valueOf(server.actualPort()));
    }

    /** The port bound (the kernel's choice for 0), or -1 when off. */
    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    void stop(@Observes ShutdownEvent event) {
        if (server != null) {
            server.close();
        }
    }
}
