package io.maas.inference.api;

import java.util.function.Supplier;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.inject.Inject;
import io.maas.auth.Presented;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

import io.maas.inference.adapters.rest.JsonTensors;
import io.maas.inference.domain.InferenceEngine;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelRepository;
import io.maas.proto.inference.ModelMetadataResponse;
import io.smallrye.common.annotation.Blocking;

/** The Open Inference Protocol's REST/JSON twin, so a model can be tried with curl. */
@Path("/v2")
public class InferenceRestResource {

    @Inject
    InferenceEngine engine;
    @Inject
    ModelRepository repository;
    @Inject
    ModelCatalog catalog;
    @Inject
    RepositoryGuard guard;
    @Inject
    InferenceBeans beans;
    @Inject
    ServerInfo server;

    @GET
    public Map<String, Object> serverMetadata() {
        return Map.of("name", server.name(), "version", server.version(), "extensions", ServerInfo.EXTENSIONS);
    }

    @GET
    @Path("/health/live")
    public Response live() {
        return Response.ok().build();
    }

    @GET
    @Path("/health/ready")
    public Response ready() {
        return Response.status(beans.ready() ? 200 : 503).build();
    }

    @GET
    @Path("/models/{model}")
    public Response metadata(@PathParam("model") String model) {
        return metadata(model, "");
    }

    @GET
    @Path("/models/{model}/versions/{version}")
    public Response metadata(@PathParam("model") String model, @PathParam("version") String version) {
        return handle(() -> {
            ModelMetadataResponse m = catalog.metadata(model, version);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", m.getName());
            body.put("versions", m.getVersionsList());
            body.put("platform", m.getPlatform());
            body.put("inputs", m.getInputsList().stream().map(InferenceRestResource::tensor).toList());
            body.put("outputs", m.getOutputsList().stream().map(InferenceRestResource::tensor).toList());
            return Response.ok(body, MediaType.APPLICATION_JSON).build();
        });
    }

    @GET
    @Path("/models/{model}/ready")
    public Response modelReady(@PathParam("model") String model) {
        return modelReady(model, "");
    }

    @GET
    @Path("/models/{model}/versions/{version}/ready")
    public Response modelReady(@PathParam("model") String model, @PathParam("version") String version) {
        return Response.status(catalog.ready(model, version) ? 200 : 503).build();
    }

    @GET
    @Path("/models/{model}/config")
    public Response config(@PathParam("model") String model) {
        return config(model, "");
    }

    @GET
    @Path("/models/{model}/versions/{version}/config")
    public Response config(@PathParam("model") String model, @PathParam("version") String version) {
        return handle(() -> {
            try {
                String json = JsonFormat.printer().preservingProtoFieldNames().print(catalog.config(model, version));
                return Response.ok(json, MediaType.APPLICATION_JSON).build();
            } catch (InvalidProtocolBufferException e) {
                throw new InferenceException(InferenceException.Kind.INTERNAL, e.getMessage());
            }
        });
    }

    @POST
    @Path("/models/{model}/infer")
    public CompletionStage<Response> infer(@PathParam("model") String model,
                                           @HeaderParam(JsonTensors.HEADER_LENGTH) String headerLength, byte[] body) {
        return infer(model, "", headerLength, body);
    }

    @POST
    @Path("/models/{model}/versions/{version}/infer")
    public CompletionStage<Response> infer(@PathParam("model") String model, @PathParam("version") String version,
                                           @HeaderParam(JsonTensors.HEADER_LENGTH) String headerLength,
                                           byte[] body) {
        try {
            JsonTensors.ParsedRequest parsed = JsonTensors.decode(body, headerLength);
            return engine.infer(parsed.toRequest(model, version))
                    .thenApply(result -> {
                        JsonTensors.Body out = JsonTensors.encode(result, parsed);
                        if (out.binary().length == 0) {
                            return Response.ok(out.json(), MediaType.APPLICATION_JSON).build();
                        }
                        byte[] all = new byte[out.json().length + out.binary().length];
                        System.arraycopy(out.json(), 0, all, 0, out.json().length);
                        System.arraycopy(out.binary(), 0, all, out.json().length, out.binary().length);
                        return Response.ok(all, MediaType.APPLICATION_OCTET_STREAM)
                                .header(JsonTensors.HEADER_LENGTH, out.json().length).build();
                    })
                    .exceptionally(InferenceRestResource::error);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(error(e));
        }
    }

    @POST
    @Path("/repository/index")
    public Response index() {
        return handle(() -> Response.ok(catalog.index(false).getModelsList().stream().map(m -> {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", m.getName());
            entry.put("version", m.getVersion());
            entry.put("state", m.getState());
            entry.put("reason", m.getReason());
            return entry;
        }).toList(), MediaType.APPLICATION_JSON).build());
    }

    @POST
    @Path("/repository/models/{model}/load")
    @Blocking
    public Response load(@PathParam("model") String model, @HeaderParam(Presented.AUTHORIZATION) String authorization,
                         @HeaderParam(Presented.API_KEY) String apiKey) {
        return handle(() -> {
            guard.admit(new Presented(authorization, apiKey, null), model, "repository-load");
            repository.load(model);
            return Response.ok().build();
        });
    }

    @POST
    @Path("/repository/models/{model}/unload")
    @Blocking
    public Response unload(@PathParam("model") String model, @HeaderParam(Presented.AUTHORIZATION) String authorization,
                           @HeaderParam(Presented.API_KEY) String apiKey) {
        return handle(() -> {
            guard.admit(new Presented(authorization, apiKey, null), model, "repository-unload");
            repository.unload(model);
            return Response.ok().build();
        });
    }

    private static Map<String, Object> tensor(ModelMetadataResponse.TensorMetadata t) {
        return Map.of("name", t.getName(), "datatype", t.getDatatype(), "shape", List.copyOf(t.getShapeList()));
    }

    private static Response handle(Supplier<Response> action) {
        try {
            return action.get();
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    private static Response error(Throwable t) {
        return Response.status(Statuses.http(t))
                .entity(JsonTensors.error(String.valueOf(Statuses.cause(t).getMessage())))
                .type(MediaType.APPLICATION_JSON).build();
    }
}
