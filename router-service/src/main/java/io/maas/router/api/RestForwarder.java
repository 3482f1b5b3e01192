package io.maas.router.api;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

import io.grpc.Status;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.maas.router.adapters.RouterMetrics;
import io.maas.router.adapters.Tracing;
import io.maas.router.domain.CanaryGuard;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.RouterConfig;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.RoutingTable;
import io.maas.router.domain.VersionChooser;

/**
 * The REST/JSON twin of the router: the same version choice as gRPC (explicit version, pin,
 * canary opt-in/out, sticky key, weighted split), then the HTTP request is passed to the chosen
 * pod's HTTP port unchanged (JSON or binary tensors alike) and its answer returned with
 * {@code x-maas-model-version} and {@code x-maas-track} headers.
 */
@Path("/v2")
public class RestForwarder {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.\\-]{1,200}");
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    @Inject
    RoutingTable table;
    @Inject
    EndpointPool pool;
    @Inject
    RouterConfig config;
    @Inject
    RouterMetrics metrics;
    @Inject
    CanaryGuard canary;
    @Inject
    RouterState state;
    @Inject
    Tracing tracing;

    @Inject
    Vertx vertx;

    /** Keep-alive HTTP/1.1 connections to the pods on Quarkus' own event loops (no thread hand-off). */
    private HttpClient http;

    @PostConstruct
    void init() {
        http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5000).setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(64));
    }

    /** A pod's answer, read in full. */
    private record Reply(int status, String contentType, String headerLength, byte[] body) {
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

    @POST
    @Path("/models/{model}/infer")
    public CompletionStage<Response> infer(@PathParam("model") String model, @Context HttpHeaders headers, byte[] body) {
        return forward("POST", model, "", "/infer", headers, body);
    }

    @POST
    @Path("/models/{model}/versions/{version}/infer")
    public CompletionStage<Response> infer(@PathParam("model") String model, @PathParam("version") String version,
                                           @Context HttpHeaders headers, byte[] body) {
        return forward("POST", model, version, "/infer", headers, body);
    }

    @GET
    @Path("/models/{model}")
    public CompletionStage<Response> metadata(@PathParam("model") String model, @Context HttpHeaders headers) {
        return forward("GET", model, "", "", headers, null);
    }

    @GET
    @Path("/models/{model}/versions/{version}")
    public CompletionStage<Response> metadata(@PathParam("model") String model, @PathParam("version") String version,
                                              @Context HttpHeaders headers) {
        return forward("GET", model, version, "", headers, null);
    }

    @GET
    @Path("/models/{model}/{what: ready|config}")
    public CompletionStage<Response> modelInfo(@PathParam("model") String model, @PathParam("what") String what,
                                               @Context HttpHeaders headers) {
        return forward("GET", model, "", "/" + what, headers, null);
    }

    @GET
    @Path("/models/{model}/versions/{version}/{what: ready|config}")
    public CompletionStage<Response> modelInfo(@PathParam("model") String model, @PathParam("version") String version,
                                               @PathParam("what") String what, @Context HttpHeaders headers) {
        return forward("GET", model, version, "/" + what, headers, null);
    }

    private CompletionStage<Response> forward(String method, String model, String version, String suffix,
                                              HttpHeaders headers, byte[] body) {
        if (!NAME.matcher(model).matches() || (!version.isEmpty() && !NAME.matcher(version).matches())) {
            return done(error(400, "invalid model name or version"));
        }
        VersionChooser.Choice choice;
        try {
            choice = VersionChooser.chooseOrOnlyVersion(model, table.route(model), pool.versions(model), version,
                    headers.getHeaderString(InferenceForwarder.PIN.name()),
                    headers.getHeaderString(InferenceForwarder.CANARY.name()),
                    headers.getHeaderString(InferenceForwarder.ROUTING_KEY.name()));
        } catch (VersionChooser.NoRoute e) {
            return done(error(404, e.getMessage()));
        }
        Call call = new Call(method, new ModelKey(model, choice.version()), choice.track(), suffix, headers, body);
        return call.attempt();
    }

    /** One REST call across its attempts: a pod that refuses the connection is tried no more. */
    private final class Call {
        final String method;
        final ModelKey key;
        final String track;
        final String suffix;
        final HttpHeaders headers;
        final byte[] body;
        final long start = System.nanoTime();
        final List<Endpoint> tried = new ArrayList<>(2);
        /** With tracing on, Quarkus' HTTP client span is the pod's parent; otherwise the caller's headers pass on. */
        final boolean traced = tracing.inSpan();

        Call(String method, ModelKey key, String track, String suffix, HttpHeaders headers, byte[] body) {
            this.method = method;
            this.key = key;
            this.track = track;
            this.suffix = suffix;
            this.headers = headers;
            this.body = body;
        }

        CompletionStage<Response> attempt() {
            Endpoint endpoint = pool.pick(key, tried);
            while (endpoint != null && endpoint.httpAddress() == null) {
                tried.add(endpoint);
                endpoint = pool.pick(key, tried);
            }
            if (endpoint == null) {
                return done(finish(error(503, "no available endpoint with an HTTP port for " + key)));
            }
            tried.add(endpoint);
            Endpoint chosen = endpoint;
            String address = chosen.httpAddress();
            int colon = address.lastIndexOf(':');
            RequestOptions options = new RequestOptions().setMethod(HttpMethod.valueOf(method))
                    .setHost(address.substring(0, colon)).setPort(Integer.parseInt(address.substring(colon + 1)))
                    .setURI("/v2/models/" + key.model() + "/versions/" + key.version() + suffix)
                    .setIdleTimeout(config.balancer().defaultTimeoutMs());
            chosen.acquired();
            return http.request(options).compose(request -> {
                        copy(HttpHeaders.CONTENT_TYPE, request);
                        copy(HEADER_LENGTH, request);
                        if (!traced) {
                            // W3C trace context travels on, so the pod's spans join the caller's trace.
                            copy("traceparent", request);
                            copy("tracestate", request);
                        }
                        return body == null ? request.send() : request.send(Buffer.buffer(body));
                    })
                    .compose(response -> response.body().map(b -> new Reply(response.statusCode(),
                            response.getHeader(HttpHeaders.CONTENT_TYPE), response.getHeader(HEADER_LENGTH), b.getBytes())))
                    .toCompletionStage()
                    .handle((reply, failure) -> {
                        chosen.released();
                        if (failure instanceof ConnectException && tried.size() < config.balancer().maxAttempts()) {
                            pool.failure(chosen);
                            metrics.retry(key.model(), key.version(), track);
                            return attempt();
                        }
                        if (failure != null) {
                            return done(finish(error(503, "endpoint " + address + " failed: " + failure)));
                        }
                        chosen.success();
                        Response.ResponseBuilder out = Response.status(reply.status()).entity(reply.body());
                        if (reply.contentType() != null) {
                            out.type(reply.contentType());
                        }
                        if (reply.headerLength() != null) {
                            out.header(HEADER_LENGTH, reply.headerLength());
                        }
                        return done(finish(out.build()));
                    })
                    .thenCompose(stage -> stage);
        }

        private void copy(String name, HttpClientRequest request) {
            String value = headers.getHeaderString(name);
            if (value != null) {
                request.putHeader(name, value);
            }
        }

        /** Adds the routing headers and records the call like a gRPC one (REST statuses mapped to codes). */
        private Response finish(Response response) {
            Status.Code code = code(response.getStatus());
            long nanos = System.nanoTime() - start;
            metrics.call("REST" + (suffix.isEmpty() ? "/metadata" : suffix), key.model(), key.version(), track,
                    code.name(), nanos);
            if (suffix.equals("/infer")) {
                canary.record(key, code, nanos);
            }
            return Response.fromResponse(response).header(InferenceForwarder.VERSION_OUT.name(), key.version())
                    .header(InferenceForwarder.TRACK_OUT.name(), track).build();
        }
    }

    private static Status.Code code(int httpStatus) {
        return switch (httpStatus) {
            case 200 -> Status.Code.OK;
            case 400 -> Status.Code.INVALID_ARGUMENT;
            case 404 -> Status.Code.NOT_FOUND;
            case 413, 429 -> Status.Code.RESOURCE_EXHAUSTED;
            case 499 -> Status.Code.CANCELLED;
            case 503 -> Status.Code.UNAVAILABLE;
            case 504 -> Status.Code.DEADLINE_EXCEEDED;
            default -> httpStatus < 400 ? Status.Code.OK : httpStatus < 500 ? Status.Code.FAILED_PRECONDITION
                    : Status.Code.INTERNAL;
        };
    }

    private static Response error(int status, String message) {
        String json = "{\"error\":\"" + message.replace("\\", "\\\\").replace("\"", "'") + "\"}";
        return Response.status(status).entity(json.getBytes(StandardCharsets.UTF_8)).type(MediaType.APPLICATION_JSON)
                .build();
    }

    private static <T> CompletionStage<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
