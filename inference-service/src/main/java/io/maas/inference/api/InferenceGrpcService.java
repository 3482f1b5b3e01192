package io.maas.inference.api;

import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.StreamObserver;
import io.maas.inference.adapters.grpc.ProtoTensors;
import io.maas.inference.domain.InferRequest;
import io.maas.inference.domain.InferenceEngine;
import io.maas.inference.domain.ModelRepository;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelConfigRequest;
import io.maas.proto.inference.ModelConfigResponse;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.ModelMetadataResponse;
import io.maas.proto.inference.ModelReadyRequest;
import io.maas.proto.inference.ModelReadyResponse;
import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryIndexResponse;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.proto.inference.RepositoryModelLoadResponse;
import io.maas.proto.inference.RepositoryModelUnloadRequest;
import io.maas.proto.inference.RepositoryModelUnloadResponse;
import io.maas.proto.inference.ServerLiveRequest;
import io.maas.proto.inference.ServerLiveResponse;
import io.maas.proto.inference.ServerMetadataRequest;
import io.maas.proto.inference.ServerMetadataResponse;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.proto.inference.ServerReadyResponse;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;

/**
 * The Open Inference Protocol over gRPC. ModelInfer never blocks the calling thread: the request
 * is queued and the response sent from the model's worker when the run completes.
 */
@GrpcService
public class InferenceGrpcService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

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

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> response) {
        try {
            Context context = Context.current();
            Deadline deadline = context.getDeadline();
            long deadlineNanos = deadline == null ? Long.MAX_VALUE
                    : System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS);
            InferRequest decoded = ProtoTensors.decode(request, deadlineNanos, context::isCancelled);
            engine.infer(decoded).whenComplete((result, failure) -> {
                if (failure != null) {
                    response.onError(Statuses.grpc(failure));
                } else {
                    response.onNext(ProtoTensors.encode(result));
                    response.onCompleted();
                }
            });
        } catch (RuntimeException e) {
            response.onError(Statuses.grpc(e));
        }
    }

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> response) {
        reply(response, ServerLiveResponse.newBuilder().setLive(true).build());
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> response) {
        reply(response, ServerReadyResponse.newBuilder().setReady(beans.ready()).build());
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> response) {
        reply(response, ModelReadyResponse.newBuilder()
                .setReady(catalog.ready(request.getName(), request.getVersion())).build());
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> response) {
        reply(response, ServerMetadataResponse.newBuilder().setName(server.name()).setVersion(server.version())
                .addAllExtensions(ServerInfo.EXTENSIONS).build());
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> response) {
        try {
            reply(response, catalog.metadata(request.getName(), request.getVersion()));
        } catch (RuntimeException e) {
            response.onError(Statuses.grpc(e));
        }
    }

    @Override
    public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> response) {
        try {
            reply(response, ModelConfigResponse.newBuilder()
                    .setConfig(catalog.config(request.getName(), request.getVersion())).build());
        } catch (RuntimeException e) {
            response.onError(Statuses.grpc(e));
        }
    }

    @Override
    public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> response) {
        reply(response, catalog.index(request.getReady()));
    }

    @Override
    @Blocking
    public void repositoryModelLoad(RepositoryModelLoadRequest request,
                                    StreamObserver<RepositoryModelLoadResponse> response) {
        try {
            guard.admit(RepositoryGuard.presented(), request.getModelName(), "repository-load");
            repository.load(request.getModelName());
            reply(response, RepositoryModelLoadResponse.getDefaultInstance());
        } catch (RuntimeException e) {
            response.onError(Statuses.grpc(e));
        }
    }

    @Override
    @Blocking
    public void repositoryModelUnload(RepositoryModelUnloadRequest request,
                                      StreamObserver<RepositoryModelUnloadResponse> response) {
        try {
            guard.admit(RepositoryGuard.presented(), request.getModelName(), "repository-unload");
            repository.unload(request.getModelName());
            reply(response, RepositoryModelUnloadResponse.getDefaultInstance());
        } catch (RuntimeException e) {
            response.onError(Statuses.grpc(e));
        }
    }

    private static <T> void reply(StreamObserver<T> response, T message) {
        response.onNext(message);
        response.onCompleted();
    }
}
