package io.maas.router.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.maas.auth.RequestBudget;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Puts the REST twin's inference calls under the router's request byte budget, the one its gRPC calls
 * take from ({@link DataPlaneServer#requestBudget()}), before their body is read: the declared size
 * (Content-Length; the message limit when the body is chunked) times {@link #COPIES} is taken at once
 * and given back when the response ends (a body of at most {@link RequestBudget#FREE_BYTES} is not
 * counted). Without it, callers sending large bodies at once, slowly or
 * not, fill the router's heap: it reads each body whole before it authenticates and forwards the call.
 * A call that would pass the budget gets 429 at once, with why, and the connection is closed rather
 * than its body read.
 */
@ApplicationScoped
public class RestRequestBudget {
    /** Copies of a body the router holds while it forwards it: as read, the bytes the resource gets, the buffer sent on. */
    static final long COPIES = 3;

    @Inject
    DataPlaneServer dataPlane;
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize maxBody;

    void install(@Observes Router router) {
        router.route(HttpMethod.POST, "/v2/models/*").order(-100).handler(this::admit);
    }

    private void admit(RoutingContext rc) {
        if (!rc.normalizedPath().endsWith("/infer")) {
            rc.next();
            return;
        }
        RequestBudget.Request request = dataPlane.requestBudget().request();
        long length = RequestBudget.declaredLength(rc.request().getHeader(HttpHeaders.CONTENT_LENGTH), maxBody.asLongValue());
        if (!request.arrivedWhole(length, length * COPIES)) {
            dataPlane.overBudget();
            String what = "this request's " + RequestBudget.mib(length) + " body (held " + COPIES
                    + " times while it is forwarded)";
            rc.response().setStatusCode(429).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .putHeader(HttpHeaders.CONNECTION, "close")
                    .end(Buffer.buffer(RestForwarder.errorJson(request.refusal("the router", what))));
            return;
        }
        rc.addEndHandler(done -> request.ended());
        rc.next();
    }
}
