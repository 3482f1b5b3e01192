package io.maas.registry.api;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.maas.proto.registry.ControlRolloutRequest;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.GetRolloutRequest;
import io.maas.proto.registry.ReportTrafficRequest;
import io.maas.proto.registry.ReportTrafficResponse;
import io.maas.proto.registry.GetModelRequest;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.GetVersionRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ListAuditResponse;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ListModelsResponse;
import io.maas.proto.registry.ListVersionsRequest;
import io.maas.proto.registry.ListVersionsResponse;
import io.maas.proto.registry.Model;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.ModelVersion;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RollbackRoutingRequest;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.SetStageRequest;
import io.maas.proto.registry.WatchRoutingRequest;
import io.maas.registry.domain.Actor;
import io.maas.registry.domain.Registry;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.Rollouts;
import io.maas.registry.domain.RoutingFeed;
import io.maas.registry.domain.RoutingSpec;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.grpc.GrpcService;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The ModelRegistry gRPC API. Calls arrive on the event loop; store access is blocking JDBC, so
 * each call runs on the registry's worker pool, carrying the caller's gRPC context (its Actor).
 */
@GrpcService
public class RegistryGrpcService extends ModelRegistryGrpc.ModelRegistryImplBase {
    private static final System.Logger LOG = System.getLogger(RegistryGrpcService.class.getName());

    @Inject
    RegistryRuntime runtime;
    @Inject
    MeterRegistry meters;
    /** Events a watch stream may fall behind (sent while its peer reads nothing) before it is closed. */
    @ConfigProperty(name = "maas.registry.watch-max-backlog", defaultValue = "1000")
    int maxWatchBacklog;

    private Counter slowWatchersClosed;

    @PostConstruct
    void init() {
        slowWatchersClosed = Counter.builder("maas_registry_slow_watchers_closed")
                .description("Watch streams closed with RESOURCE_EXHAUSTED because their peer stopped reading").register(meters);
    }

    private final ExecutorService workers = Executors.newFixedThreadPool(16, r -> {
        var t = new Thread(r, "maas-registry-worker");
        t.setDaemon(true);
        return t;
    });

    @PreDestroy
    void stop() {
        workers.shutdownNow();
    }

    @Override
    public void createModel(CreateModelRequest r, StreamObserver<Model> out) {
        write("CreateModel", out, () -> ProtoMapper.model(registry().createModel(actor(), r.getName(), r.getDescription(), r.getLabelsMap())));
    }

    @Override
    public void getModel(GetModelRequest r, StreamObserver<Model> out) {
        read(out, () -> ProtoMapper.model(registry().getModel(r.getName())));
    }

    @Override
    public void listModels(ListModelsRequest r, StreamObserver<ListModelsResponse> out) {
        read(out, () -> {
            var page = registry().listModels(r.getPageSize(), r.getPageToken());
            return ListModelsResponse.newBuilder().addAllModels(page.items().stream().map(ProtoMapper::model).toList())
                    .setNextPageToken(page.nextToken()).build();
        });
    }

    @Override
    public void registerVersion(RegisterVersionRequest r, StreamObserver<ModelVersion> out) {
        write("RegisterVersion", out, () -> ProtoMapper.version(registry().registerVersion(actor(), ProtoMapper.draft(r))));
    }

    @Override
    public void getVersion(GetVersionRequest r, StreamObserver<ModelVersion> out) {
        read(out, () -> ProtoMapper.version(registry().getVersion(r.getModel(), r.getVersion())));
    }

    @Override
    public void listVersions(ListVersionsRequest r, StreamObserver<ListVersionsResponse> out) {
        read(out, () -> {
            var page = registry().listVersions(r.getModel(), r.getPageSize(), r.getPageToken());
            return ListVersionsResponse.newBuilder().addAllVersions(page.items().stream().map(ProtoMapper::version).toList())
                    .setNextPageToken(page.nextToken()).build();
        });
    }

    @Override
    public void setStage(SetStageRequest r, StreamObserver<ModelVersion> out) {
        write("SetStage", out, () -> ProtoMapper.version(registry().setStage(actor(), r.getModel(), r.getVersion(),
                ProtoMapper.stage(r.getStage()), r.getReason())));
    }

    @Override
    public void setRouting(SetRoutingRequest r, StreamObserver<RoutingEntry> out) {
        write("SetRouting", out, () -> ProtoMapper.routing(registry().setRouting(actor(),
                new RoutingSpec(r.getModel(), r.getStableVersion(), r.getCanaryVersion(), r.getCanaryWeight()), r.getForce(),
                r.getReason(), r.hasExpectedRevision() ? OptionalLong.of(r.getExpectedRevision()) : OptionalLong.empty())));
    }

    @Override
    public void rollbackRouting(RollbackRoutingRequest r, StreamObserver<RoutingEntry> out) {
        write("RollbackRouting", out, () -> {
            if (r.getToRevision() < 0) {
                throw RegistryException.invalid("to_revision " + r.getToRevision() + " is negative: use 0 for the previous routing");
            }
            return ProtoMapper.routing(registry().rollback(actor(), r.getModel(), r.getToRevision(), r.getReason(),
                    r.hasExpectedRevision() ? OptionalLong.of(r.getExpectedRevision()) : OptionalLong.empty()));
        });
    }

    @Override
    public void getRouting(GetRoutingRequest r, StreamObserver<RoutingEntry> out) {
        read(out, () -> ProtoMapper.routing(registry().getRouting(r.getModel())));
    }

    @Override
    public void listAudit(ListAuditRequest r, StreamObserver<ListAuditResponse> out) {
        read(out, () -> {
            var page = registry().listAudit(r.getModel(), r.getPageSize(), r.getPageToken());
            return ListAuditResponse.newBuilder().addAllRecords(page.items().stream().map(ProtoMapper::audit).toList())
                    .setNextPageToken(page.nextToken()).build();
        });
    }

    @Override
    public void reportTraffic(ReportTrafficRequest r, StreamObserver<ReportTrafficResponse> out) {
        write("ReportTraffic", out, () -> {
            runtime.rollouts().report(r.getRouter(), r.getVersionsList().stream().map(ProtoMapper::traffic).toList(),
                    r.getShadowsList().stream().map(ProtoMapper::shadow).toList());
            return ReportTrafficResponse.getDefaultInstance();
        });
    }

    @Override
    public void getRollout(GetRolloutRequest r, StreamObserver<io.maas.proto.registry.Rollout> out) {
        read(out, () -> ProtoMapper.rollout(runtime.rollouts().get(r.getModel()).orElseThrow(() -> RegistryException.notFound(
                "model '" + r.getModel() + "' has no rollout: declare one with the model's routing (docs/rollouts.md)")),
                runtime.rollouts().reportingRouters()));
    }

    @Override
    public void controlRollout(ControlRolloutRequest r, StreamObserver<io.maas.proto.registry.Rollout> out) {
        write("ControlRollout", out, () -> {
            Rollouts.Action action = switch (r.getAction()) {
                case PAUSE -> Rollouts.Action.PAUSE;
                case RESUME -> Rollouts.Action.RESUME;
                case PROMOTE -> Rollouts.Action.PROMOTE;
                case ABORT -> Rollouts.Action.ABORT;
                default -> throw RegistryException.invalid("action is required: PAUSE, RESUME, PROMOTE or ABORT");
            };
            return ProtoMapper.rollout(runtime.rollouts().control(actor(), r.getModel(), action, r.getReason()),
                    runtime.rollouts().reportingRouters());
        });
    }

    @Override
    public void watchRouting(WatchRoutingRequest r, StreamObserver<RoutingEvent> out) {
        if (r.getFromRevision() < 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("from_revision " + r.getFromRevision()
                    + " is negative: use 0 for a fresh snapshot").asRuntimeException());
            return;
        }
        var unsubscribe = new AtomicReference<Runnable>();
        var call = (ServerCallStreamObserver<RoutingEvent>) out;
        // Must be set before this method returns; the subscription may not exist yet then.
        call.setOnCancelHandler(() -> {
            var u = unsubscribe.getAndSet(() -> { });
            if (u != null) {
                u.run();
            }
        });
        workers.execute(Context.current().wrap(() -> {
            RoutingFeed.Watcher watcher = new RoutingFeed.Watcher() {
                /** Events handed to the stream while it could take no more; the feed's lock serializes onEvent. */
                int backlog;
                boolean closed;

                @Override
                public void onEvent(io.maas.registry.domain.RoutingEvent event) {
                    if (closed) {
                        throw new IllegalStateException("watch closed");
                    }
                    // grpc buffers what a peer does not read without limit: bound it per watcher
                    backlog = call.isReady() ? 0 : backlog + 1;
                    if (backlog > maxWatchBacklog) {
                        closed = true;
                        slowWatchersClosed.increment();
                        LOG.log(System.Logger.Level.WARNING, "closing a routing watch that reads nothing ({0} events behind, at revision {1})",
                                backlog, String.valueOf(event.revision()));
                        out.onError(Status.RESOURCE_EXHAUSTED.withDescription("watcher is not reading: " + backlog
                                + " routing events are waiting for it; reconnect with from_revision set to the last revision applied")
                                .asRuntimeException());
                        // the feed drops a watcher whose delivery fails
                        throw new IllegalStateException("slow watcher closed");
                    }
                    out.onNext(ProtoMapper.event(event));
                }

                @Override
                public void onClose() {
                    if (!closed) {
                        closed = true;
                        out.onError(Status.UNAVAILABLE.withDescription("registry shutting down: reconnect with from_revision").asRuntimeException());
                    }
                }
            };
            try {
                var u = registry().feed().subscribe(r.getFromRevision(), watcher);
                if (!unsubscribe.compareAndSet(null, u)) {
                    u.run(); // cancelled while subscribing
                }
            } catch (RuntimeException e) {
                out.onError(GrpcErrors.toStatus(e));
            }
        }));
    }

    private Registry registry() {
        return runtime.registry();
    }

    private static Actor actor() {
        var actor = AuthInterceptor.ACTOR.get();
        if (actor == null) {
            throw new IllegalStateException("no caller identity on the gRPC context");
        }
        return actor;
    }

    private <T> void read(StreamObserver<T> out, Supplier<T> op) {
        workers.execute(Context.current().wrap(() -> respond(out, op)));
    }

    private <T> void write(String method, StreamObserver<T> out, Supplier<T> op) {
        Timer timer = Timer.builder("maas_registry_write_seconds").description("Latency of registry writes, including the store commit")
                .tag("method", method).publishPercentileHistogram().register(meters);
        workers.execute(Context.current().wrap(() -> timer.record(() -> respond(out, op))));
    }

    private static <T> void respond(StreamObserver<T> out, Supplier<T> op) {
        T result;
        try {
            result = op.get();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }
}
