package io.maas.router.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.RequestBudget;
import io.maas.router.adapters.HttpStatuses;
import io.maas.router.domain.Forwarding;
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
 * then the bytes they bring. A body's bytes count {@link #COPIES} times against the router's request
 * byte budget, the one its gRPC calls take from ({@link DataPlaneServer#requestBudget()}), as they
 * arrive ({@link RestInference} feeds the count), and go back when the response ends; a body of at most
 * {@link RequestBudget#FREE_BYTES} is not counted. A declared size (Content-Length) that could not be
 * held now gets 429 at once, with why, and the body is not read. Counting what arrived rather than what
 * was declared means a caller that declares 16 MiB and stalls holds nothing (six such connections
 * used to hold the whole budget for the 30 minutes until their connections idled out). Without the
 * budget, callers sending large bodies at once fill the router's memory; without authenticating first,
 * unknown callers could fill the budget. The caller and the count go to {@link RestInference} with the
 * request ({@link #caller}, {@link #budget}).
 */
@ApplicationScoped
public class RestAdmission {
    /** Copies of a body the router holds while it forwards it: as read, the bytes the resource gets, the buffer sent on. */
    static final long COPIES = 3;
    private static final String CALLER = RestAdmission.class.getName() + ".caller";
    private static final String BUDGET = RestAdmission.class.getName() + ".budget";

    @Inject
    DataPlaneServer dataPlane;
    @Inject
    Forwarding forwarding;
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
        RequestBudget budget = dataPlane.requestBudget();
        RequestBudget.Request request = budget.request(COPIES);
        long length = RequestBudget.declaredLength(http.getHeader(HttpHeaders.CONTENT_LENGTH), 0);
        if (length > RequestBudget.FREE_BYTES && !budget.fits((length - RequestBudget.FREE_BYTES) * COPIES)) {
            dataPlane.overBudget();
            end(rc, 429, request.refusal("the router", "this request's " + RequestBudget.mib(length) + " body (held "
                    + COPIES + " times while it is forwarded)"));
            return;
        }
        rc.put(CALLER, caller);
        rc.put(BUDGET, request);
        rc.addEndHandler(done -> request.ended());
        rc.next();
    }

    /** The budget count of {@code rc}'s body, which {@link RestInference} feeds as the body arrives. */
    static RequestBudget.Request budget(RoutingContext rc) {
        return rc.get(BUDGET);
    }

    /**
     * Answers before the body is read, asking the client to close the connection; the body is then
     * dropped as it arrives, never held. (Closing at once could reset the connection under the answer.)
     */
    static void end(RoutingContext rc, int status, String message) {
        HttpServerResponse response = rc.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        if (rc.request().version() != HttpVersion.HTTP_2) {
            response.putHeader(HttpHeaders.CONNECTION, "close"); // not an HTTP/2 header
        }
        response.end(Buffer.buffer(RestForwarder.errorJson(message)));
    }
}
