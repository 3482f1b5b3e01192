package io.maas.router.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.RequestBudget;
import io.maas.router.adapters.HttpStatuses;
import io.maas.router.domain.Forwarding;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The REST twin's inference calls before their body is read, as the gRPC front door takes a call at
 * its headers: who is calling (refused at once, with the same answer {@link RestForwarder} would give),
 * then the bytes they bring. The declared size (Content-Length; the message limit when the body is
 * chunked) times {@link #COPIES} is taken from the router's request byte budget, the one its gRPC calls
 * take from ({@link DataPlaneServer#requestBudget()}), and given back when the response ends (a body of
 * at most {@link RequestBudget#FREE_BYTES} is not counted). Without it, callers sending large bodies at
 * once, slowly or not, fill the router's memory; without authenticating first, unknown callers could
 * fill the budget. A call that would pass the budget gets 429 at once, with why, and its body is not read. The caller goes to {@link RestInference} with the request
 * ({@link #caller}).
 */
@ApplicationScoped
public class RestAdmission {
    /** Copies of a body the router holds while it forwards it: as read, the bytes the resource gets, the buffer sent on. */
    static final long COPIES = 3;
    private static final String CALLER = RestAdmission.class.getName() + ".caller";

    @Inject
    DataPlaneServer dataPlane;
    @Inject
    Forwarding forwarding;
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize maxBody;

    void install(@Observes Router router) {
        router.route(HttpMethod.POST, "/v2/models/*").order(-100).handler(this::admit);
    }

    /** The caller this filter authenticated for {@code rc}'s request, or null when it did not see it. */
    static Caller caller(RoutingContext rc) {
        return rc.get(CALLER);
    }

    private void admit(RoutingContext rc) {
        if (!rc.normalizedPath().endsWith("/infer")) {
            rc.next();
            return;
        }
        HttpServerRequest http = rc.request();
        Caller caller;
        try {
            caller = forwarding.authenticate(RestForwarder.presented(http), Operation.INFER);
        } catch (Forwarding.Refused e) {
            end(rc, HttpStatuses.http(e.outcome().code()), e.getMessage());
            return;
        }
        RequestBudget.Request request = dataPlane.requestBudget().request();
        long length = RequestBudget.declaredLength(http.getHeader(HttpHeaders.CONTENT_LENGTH), maxBody.asLongValue());
        if (!request.arrivedWhole(length, length * COPIES)) {
            dataPlane.overBudget();
            end(rc, 429, request.refusal("the router", "this request's " + RequestBudget.mib(length) + " body (held "
                    + COPIES + " times while it is forwarded)"));
            return;
        }
        rc.put(CALLER, caller);
        rc.addEndHandler(done -> request.ended());
        rc.next();
    }

    /**
     * Answers before the body is read, asking the client to close the connection; the body is then
     * dropped as it arrives, never held. (Closing at once could reset the connection under the answer.)
     */
    private static void end(RoutingContext rc, int status, String message) {
        HttpServerResponse response = rc.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        if (rc.request().version() != HttpVersion.HTTP_2) {
            response.putHeader(HttpHeaders.CONNECTION, "close"); // not an HTTP/2 header
        }
        response.end(Buffer.buffer(RestForwarder.errorJson(message)));
    }
}
