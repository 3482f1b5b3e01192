package io.maas.router.api;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import jakarta.annotation.PostConstruct;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.Quotas;
import io.maas.router.adapters.Credentials;
import io.maas.router.adapters.HttpStatuses;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.RouterTls;
import io.maas.router.adapters.Tracing;
import io.maas.router.domain.CallKind;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.ForwardedCall;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.StatusCode;
import io.maas.router.domain.Target;
import io.maas.router.domain.Upstream;

/**
 * The REST/JSON twin of the router: the same version choice as gRPC (explicit version, pin,
 * canary opt-in/out, sticky key, weighted split), then the HTTP request is passed to the chosen
 * pod's HTTP port unchanged (JSON or binary tensors alike) and its answer returned with
 * {@code x-maas-model-version} and {@code x-maas-track} headers.
 */
@Path("/v2")
public class RestForwarder {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.\\-]{1,200}");
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    @Inject
    Forwarding forwarding;
    @Inject
    RouterConfig config;
    @Inject
    RouterState state;
    @Inject
    Tracing tracing;

    @Inject
    Vertx vertx;
    @Inject
    RouterTls tls;

    /** Keep-alive HTTP/1.1 connections to the pods on Quarkus' own event loops (no thread hand-off). */
    private HttpClient http;

    @PostConstruct
    void init() {
        http = vertx.createHttpClient(tls.forPods(new HttpClientOptions().setConnectTimeout(5000).setKeepAlive(true)),
                new PoolOptions().setHttp1MaxSize(64));
    }

    /** A pod's answer, read in full. */
    /** A pod's answer, read in full. */
    private record Reply(int status, String contentType, String headerLength, Buffer body) {
    }

    /**
     * What the REST twin answers: a pod's answer passed through or the router's own, with the target
     * that served it (for the version and track headers) when one was chosen, and Retry-After (whole
     * seconds) when a quota says when to come back. Metadata answers go out as JAX-RS responses
     * ({@link #response}); inference answers are written by {@link RestInference}, which holds them
     * only while the caller reads.
     */
    record Answer(int status, String contentType, String headerLength, Buffer body, Target target, long retryAfterSeconds) {
        static Answer error(int status, String message) {
            return new Answer(status, MediaType.APPLICATION_JSON, null, Buffer.buffer(errorJson(message)), null, 0);
        }

        static Answer refused(Forwarding.Refused e) {
            return new Answer(HttpStatuses.http(e.outcome().code()), MediaType.APPLICATION_JSON, null,
                    Buffer.buffer(errorJson(e.getMessage())), null, (e.retryAfterMillis() + 999) / 1000);
        }
    }

    @GET
    @Path("/health/live")
    public Response live() {
        return Response.ok().build();
    }

    @GET
    @Path("/health/ready")
    public Response ready() {
        return Response.status(state.ready() ? 200 : 503).build();
    }

    // Inference calls (POST .../infer) are served by RestInference, which reads their bodies and
    // writes their answers itself.

    @GET
    @Path("/models/{model}")
    public CompletionStage<Response> metadata(@PathParam("model") String model, @Context HttpServerRequest request) {
        return forward("GET", model, "", "", request, null, null).thenApply(RestForwarder::response);
    }

    @GET
    @Path("/models/{model}/versions/{version}")
    public CompletionStage<Response> metadata(@PathParam("model") String model, @PathParam("version") String version,
                                              @Context HttpServerRequest request) {
        return forward("GET", model, version, "", request, null, null).thenApply(RestForwarder::response);
    }

    @GET
    @Path("/models/{model}/{what: ready|config}")
    public CompletionStage<Response> modelInfo(@PathParam("model") String model, @PathParam("what") String what,
                                               @Context HttpServerRequest request) {
        return forward("GET", model, "", "/" + what, request, null, null).thenApply(RestForwarder::response);
    }

    @GET
    @Path("/models/{model}/versions/{version}/{what: ready|config}")
    public CompletionStage<Response> modelInfo(@PathParam("model") String model, @PathParam("version") String version,
                                               @PathParam("what") String what, @Context HttpServerRequest request) {
        return forward("GET", model, version, "/" + what, request, null, null).thenApply(RestForwarder::response);
    }

    /** The models and versions the caller may see (the v2 repository extension's index). */
    @POST
    @Path("/repository/index")
    public Response index(@Context HttpServerRequest request) {
        try {
            Caller caller = forwarding.authenticate(presented(request), Operation.METADATA);
            StringBuilder json = new StringBuilder("[");
            for (Forwarding.Listed l : forwarding.index(caller)) {
                json.append(json.length() > 1 ? "," : "").append("{\"name\":\"").append(l.model())
                        .append("\",\"version\":\"").append(l.version()).append("\",\"state\":\"")
                        .append(l.served() ? "READY" : "UNAVAILABLE").append("\"}");
            }
            return Response.ok(json.append(']').toString().getBytes(StandardCharsets.UTF_8), MediaType.APPLICATION_JSON).build();
        } catch (Forwarding.Refused e) {
            return response(Answer.refused(e));
        }
    }

    /** Admin-only, and the pods' business: refused here with the way to do it. */
    @POST
    @Path("/repository/models/{model}/{action: load|unload}")
    public Response repository(@PathParam("model") String model, @Context HttpServerRequest request) {
        try {
            Caller caller = forwarding.authenticate(presented(request), Operation.ADMIN);
            forwarding.authorizeAdmin(caller, model);
            return response(Answer.error(501, "the router does not load or unload models: each inference pod loads its "
                    + "repository (deploy a version with the registry and helm, or call a pod's repository API with an admin key)"));
        } catch (Forwarding.Refused e) {
            return response(Answer.refused(e));
        }
    }

    static Presented presented(HttpServerRequest request) {
        return Credentials.presented(request.getHeader(Presented.AUTHORIZATION), request.getHeader(Presented.API_KEY),
                request.isSSL() ? request.sslSession() : null);
    }

    /** An answer as a JAX-RS response. */
    private static Response response(Answer a) {
        Response.ResponseBuilder out = Response.status(a.status()).entity(a.body().getBytes());
        if (a.contentType() != null) {
            out.type(a.contentType());
        }
        if (a.headerLength() != null) {
            out.header(HEADER_LENGTH, a.headerLength());
        }
        if (a.target() != null) {
            out.header(ForwardedStream.VERSION_OUT.toString(), a.target().key().version())
                    .header(ForwardedStream.TRACK_OUT.toString(), a.target().track());
        }
        if (a.retryAfterSeconds() > 0) {
            out.header("Retry-After", Long.toString(a.retryAfterSeconds()));
        }
        return out.build();
    }

    /**
     * One call through the forwarding pipeline: {@code admitted} is the caller when already
     * authenticated ({@link RestAdmission}), {@code body} null for a GET.
     */
    CompletionStage<Answer> forward(String method, String model, String version, String suffix,
                                    HttpServerRequest request, Caller admitted, Buffer body) {
        boolean infer = suffix.equals("/infer");
        Operation op = infer ? Operation.INFER : Operation.METADATA;
        Caller caller = admitted;
        if (caller == null) {
            try {
                caller = forwarding.authenticate(presented(request), op);
            } catch (Forwarding.Refused e) {
                return CompletableFuture.completedFuture(Answer.refused(e));
            }
        }
        if (!NAME.matcher(model).matches() || (!version.isEmpty() && !NAME.matcher(version).matches())) {
            return CompletableFuture.completedFuture(Answer.error(400, "invalid model name or version"));
        }
        Target target;
        Quotas.Permit permit;
        try {
            target = forwarding.target(caller, op, model, version, request.getHeader(ForwardedStream.PIN.toString()),
                    request.getHeader(ForwardedStream.CANARY.toString()),
                    request.getHeader(ForwardedStream.ROUTING_KEY.toString()));
            permit = forwarding.admit(caller, op, target);
        } catch (Forwarding.Refused e) {
            return CompletableFuture.completedFuture(Answer.refused(e));
        }
        tracing.tenant(caller.tenant());
        Call call = new Call(method, target, suffix, request, body);
        forwarding.start(CallKind.primary("REST" + (suffix.isEmpty() ? "/metadata" : suffix), infer), target, caller,
                permit, call, forwarding.defaultDeadlineNanos(), false);
        return call.result;
    }

    /** The REST transport of one call: the pod's HTTP answer is passed back unchanged. */
    private final class Call implements Upstream {
        final String method;
        /** The pipeline's target of the attempt under way (stable's when a failed canary falls back). */
        volatile Target target;
        final String suffix;
        final HttpServerRequest request;
        final Buffer body;
        final CompletableFuture<Answer> result = new CompletableFuture<>();
        /** With tracing on, Quarkus' HTTP client span is the pod's parent; otherwise the caller's headers pass on. */
        final boolean traced = tracing.inSpan();
        /** The last pod answer, passed through as it is unless the pipeline answers otherwise. */
        volatile Reply reply;

        Call(String method, Target target, String suffix, HttpServerRequest request, Buffer body) {
            this.method = method;
            this.target = target;
            this.suffix = suffix;
            this.request = request;
            this.body = body;
        }

        @Override
        public boolean reaches(Endpoint endpoint) {
            return endpoint.httpAddress() != null;
        }

        @Override
        public void send(ForwardedCall call, Endpoint endpoint, int attempt) {
            String address = endpoint.httpAddress();
            int colon = address.lastIndexOf(':');
            target = call.target();
            ModelKey key = target.key();
            RequestOptions options = new RequestOptions().setMethod(HttpMethod.valueOf(method))
                    .setHost(address.substring(0, colon)).setPort(Integer.parseInt(address.substring(colon + 1)))
                    .setURI("/v2/models/" + key.model() + "/versions/" + key.version() + suffix)
                    .setIdleTimeout(config.balancer().defaultTimeoutMs());
            http.request(options).compose(out -> {
                        copy(HttpHeaders.CONTENT_TYPE, out);
                        copy(HEADER_LENGTH, out);
                        if (!traced) {
                            // W3C trace context travels on, so the pod's spans join the caller's trace.
                            copy("traceparent", out);
                            copy("tracestate", out);
                        }
                        return body == null ? out.send() : out.send(body);
                    })
                    .compose(response -> response.body().map(b -> new Reply(response.statusCode(),
                            response.getHeader(HttpHeaders.CONTENT_TYPE), response.getHeader(HEADER_LENGTH), b)))
                    .onComplete(done -> {
                        if (done.succeeded()) {
                            Reply r = done.result();
                            reply = r;
                            StatusCode code = HttpStatuses.code(r.status());
                            // 503 is a pod that did not take the call (not ready, draining), as in gRPC
                            call.attemptDone(endpoint, new Outcome(code, code == StatusCode.OK ? "" : errorText(r),
                                    code == StatusCode.UNAVAILABLE));
                        } else {
                            Throwable failure = done.cause();
                            reply = null;
                            call.attemptDone(endpoint, new Outcome(StatusCode.UNAVAILABLE, "endpoint " + address
                                    + " failed: " + failure, failure instanceof ConnectException));
                        }
                    });
        }

        private void copy(String name, HttpClientRequest out) {
            String value = request.getHeader(name);
            if (value != null) {
                out.putHeader(name, value);
            }
        }

        /** The pod's answer when the outcome is the pod's own, otherwise the router's; with the target that served. */
        @Override
        public void finish(Outcome outcome) {
            Reply r = reply;
            Target served = target;
            if (r != null && HttpStatuses.code(r.status()) == outcome.code()) {
                result.complete(new Answer(r.status(), r.contentType(), r.headerLength(), r.body(), served, 0));
            } else {
                Answer error = Answer.error(HttpStatuses.http(outcome.code()), outcome.message());
                result.complete(new Answer(error.status(), error.contentType(), null, error.body(), served, 0));
            }
        }
    }

    /** A pod's error body as text for the outcome (the caller still gets the body itself). */
    private static String errorText(Reply r) {
        String text = r.body().toString(StandardCharsets.UTF_8);
        return text.length() > 500 ? text.substring(0, 500) : text;
    }

    /** The OIP error body: {"error": message}. */
    static byte[] errorJson(String message) {
        return ("{\"error\":\"" + message.replace("\\", "\\\\").replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
    }
}
