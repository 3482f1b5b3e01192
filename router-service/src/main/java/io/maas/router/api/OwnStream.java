package io.maas.router.api;

import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.router.adapters.GrpcWire;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.MessageLite;

import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryIndexResponse;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.proto.inference.RepositoryModelUnloadRequest;
import io.maas.proto.inference.ServerLiveResponse;
import io.maas.proto.inference.ServerMetadataResponse;
import io.maas.proto.inference.ServerReadyResponse;

/**
 * The unary methods of {@code inference.GRPCInferenceService} the router answers itself:
 * ServerLive, ServerReady and ServerMetadata describe the router (no credentials: probes);
 * RepositoryIndex lists the models the caller may see; repository load and unload are
 * admin-only and belong to each inference pod, so the router refuses them.
 */
final class OwnStream extends FrontConnection.Call {

    enum Method { SERVER_LIVE, SERVER_READY, SERVER_METADATA, REPOSITORY_INDEX, REPOSITORY_LOAD, REPOSITORY_UNLOAD }

    private final DataPlaneServer server;
    private final Method method;
    private final Caller caller;

    /** @param caller who is calling (authenticated already), or null for the methods that need no credentials */
    OwnStream(FrontConnection conn, int id, Http2Headers headers, DataPlaneServer server, Method method, Caller caller) {
        super(conn, id, headers);
        this.server = server;
        this.method = method;
        this.caller = caller;
    }

    @Override
    void end() {
        ByteBuf message = message();
        if (message == null) {
            return;
        }
        MessageLite response;
        try {
            response = switch (method) {
                case SERVER_LIVE -> ServerLiveResponse.newBuilder().setLive(true).build();
                case SERVER_READY -> ServerReadyResponse.newBuilder().setReady(server.state.ready()).build();
                case SERVER_METADATA -> ServerMetadataResponse.newBuilder().setName("maas-router").setVersion(version()).build();
                case REPOSITORY_INDEX -> index(RepositoryIndexRequest.parseFrom(CodedInputStream.newInstance(message.nioBuffer())));
                case REPOSITORY_LOAD, REPOSITORY_UNLOAD -> {
                    CodedInputStream in = CodedInputStream.newInstance(message.nioBuffer());
                    server.forwarding.authorizeAdmin(caller, method == Method.REPOSITORY_LOAD
                            ? RepositoryModelLoadRequest.parseFrom(in).getModelName()
                            : RepositoryModelUnloadRequest.parseFrom(in).getModelName());
                    answer(StatusCode.UNIMPLEMENTED, "the router does not load or unload models: each inference pod "
                            + "loads its repository (deploy a version with the registry and helm, or call a pod's "
                            + "RepositoryModelLoad with an admin key)", null);
                    yield null;
                }
            };
        } catch (Forwarding.Refused e) {
            answer(e.outcome().code(), e.outcome().message(), DataPlaneServer.retryHint(e));
            return;
        } catch (java.io.IOException e) {
            answer(StatusCode.INVALID_ARGUMENT, "request is not a valid protobuf message: " + e.getMessage(), null);
            return;
        } finally {
            message.release();
        }
        if (response != null) {
            answered = true;
            conn.write(id, GrpcWire.responseHeaders(), GrpcWire.frame(conn.ctx.alloc(), response.toByteArray()),
                    GrpcWire.withStatus(new DefaultHttp2Headers(false), StatusCode.OK, null));
        }
    }

    private RepositoryIndexResponse index(RepositoryIndexRequest request) {
        var out = RepositoryIndexResponse.newBuilder();
        for (Forwarding.Listed l : server.forwarding.index(caller)) {
            if (!request.getReady() || l.served()) {
                out.addModels(RepositoryIndexResponse.ModelIndex.newBuilder().setName(l.model())
                        .setVersion(l.version()).setState(l.served() ? "READY" : "UNAVAILABLE")
                        .setReason(l.served() ? "" : "no pod serving it was discovered"));
            }
        }
        return out.build();
    }

    private static String version() {
        String v = OwnStream.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    void cancelled() {
        // answered at once: nothing in flight
    }

    /** For method names: which of these the path names, or null. */
    static Method of(String bareMethod) {
        return switch (bareMethod) {
            case "ServerLive" -> Method.SERVER_LIVE;
            case "ServerReady" -> Method.SERVER_READY;
            case "ServerMetadata" -> Method.SERVER_METADATA;
            case "RepositoryIndex" -> Method.REPOSITORY_INDEX;
            case "RepositoryModelLoad" -> Method.REPOSITORY_LOAD;
            case "RepositoryModelUnload" -> Method.REPOSITORY_UNLOAD;
            default -> null;
        };
    }

    /** The operation a caller needs for the method, or null when it needs no credentials. */
    static Operation operation(Method m) {
        return switch (m) {
            case SERVER_LIVE, SERVER_READY, SERVER_METADATA -> null;
            case REPOSITORY_INDEX -> Operation.METADATA;
            case REPOSITORY_LOAD, REPOSITORY_UNLOAD -> Operation.ADMIN;
        };
    }
}
