package io.maas.inference.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.maas.auth.RequestBudget;
import io.maas.inference.adapters.rest.JsonTensors;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Puts the REST twin's inference calls under the pod's request byte budget, before their body is read:
 * the declared size (Content-Length; the message limit when the body is chunked) is taken at once and
 * given back when the response ends. JSON counts {@link #JSON_FACTOR} times its bytes, what
 * parsing it into a tree holds on the heap; binary data (Inference-Header-Content-Length) counts as is;
 * a body of at most {@link RequestBudget#FREE_BYTES} is not counted.
 * A call that would pass the budget gets 429 at once, with why (and {@code Connection: close}); its body
 * is then dropped as it arrives, never held.
 */
@ApplicationScoped
public class RestRequestBudget {
    /**
     * Heap per byte of JSON while it is parsed: one 15 MiB body of FP32 values took ~110 MB more heap
     * (a node per value, the lists holding them, the body itself).
     */
    static final long JSON_FACTOR = 8;

    @Inject
    RequestBudget budget;
    @Inject
    MeterRegistry registry;
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    io.quarkus.runtime.configuration.MemorySize maxBody;

    private Counter overBudget;

    void install(@Observes Router router) {
        overBudget = InferenceBeans.overBudget(registry);
        router.route(HttpMethod.POST, "/v2/models/*").order(-100).handler(this::admit);
    }

    private void admit(RoutingContext rc) {
        if (!rc.normalizedPath().endsWith("/infer")) {
            rc.next();
            return;
        }
        RequestBudget.Request request = budget.request();
        long length = RequestBudget.declaredLength(rc.request().getHeader(HttpHeaders.CONTENT_LENGTH), maxBody.asLongValue());
        long json = Math.min(length, RequestBudget.declaredLength(rc.request().getHeader(JsonTensors.HEADER_LENGTH), length));
        if (!request.arrivedWhole(length, json * JSON_FACTOR + (length - json))) {
            overBudget.increment();
            String what = "this request's " + RequestBudget.mib(length) + " body (" + RequestBudget.mib(json)
                    + " of JSON, which counts " + JSON_FACTOR + " times its size while it is parsed)";
            HttpServerResponse response = rc.response().setStatusCode(429).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
            if (rc.request().version() != HttpVersion.HTTP_2) {
                response.putHeader(HttpHeaders.CONNECTION, "close"); // not an HTTP/2 header
            }
            response.end(Buffer.buffer(JsonTensors.error(request.refusal("the pod", what))));
            return;
        }
        rc.addEndHandler(done -> request.ended());
        rc.next();
    }
}
