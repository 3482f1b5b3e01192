package io.maas.router.adapters;

import io.maas.router.domain.RouterConfig;
import io.maas.router.domain.Route;
import io.maas.router.domain.RoutingTable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.WatchRoutingRequest;

/**
 * Holds one WatchRouting stream open to the registry and applies its events to the routing table:
 * a SNAPSHOT replaces the table, a CHANGE replaces one model's entry. When the stream breaks
 * (registry restarting, network), the router keeps its last table and reconnects with exponential
 * backoff and jitter, resuming from the last revision it applied.
 */
@ApplicationScoped
public class RegistryWatcher {

    private static final System.Logger LOG = System.getLogger(RegistryWatcher.class.getName());
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    RouterConfig config;
    @Inject
    RoutingTable table;

    private ManagedChannel channel;
    private ScheduledExecutorService scheduler;
    private volatile boolean stopped;
    private long backoffMs;
    private volatile int reconnects;

    public synchronized void start() {
        String address = config.registry().address().orElseThrow();
        channel = NettyChannelBuilder.forTarget(address).usePlaintext()
                .keepAliveTime(20, TimeUnit.SECONDS).keepAliveWithoutCalls(true).build();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "registry-watch");
            t.setDaemon(true);
            return t;
        });
        backoffMs = config.registry().reconnectMinMs();
        scheduler.execute(this::connect);
    }

    public int reconnects() {
        return reconnects;
    }

    private void connect() {
        if (stopped) {
            return;
        }
        long from = table.received() ? table.revision() : 0;
        LOG.log(System.Logger.Level.INFO, "watching routing at {0} from revision {1}",
                config.registry().address().get(), from);
        ModelRegistryGrpc.newStub(channel).watchRouting(WatchRoutingRequest.newBuilder().setFromRevision(from).build(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(RoutingEvent event) {
                        apply(event);
                        synchronized (RegistryWatcher.this) {
                            backoffMs = config.registry().reconnectMinMs();
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        retry("watch failed: " + t.getMessage());
                    }

                    @Override
                    public void onCompleted() {
                        retry("watch ended by the registry");
                    }
                });
    }

    private synchronized void retry(String why) {
        if (stopped) {
            return;
        }
        reconnects++;
        long delay = backoffMs / 2 + ThreadLocalRandom.current().nextLong(backoffMs / 2 + 1);
        backoffMs = Math.min(config.registry().reconnectMaxMs(), backoffMs * 2);
        LOG.log(System.Logger.Level.WARNING, "{0}; keeping routing revision {1}, reconnecting in {2} ms",
                why, table.revision(), delay);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    void apply(RoutingEvent event) {
        if (event.getType() == RoutingEvent.Type.SNAPSHOT) {
            List<Route> all = new ArrayList<>();
            for (RoutingEntry e : event.getEntriesList()) {
                all.add(route(e));
            }
            table.replaceAll(event.getRevision(), all);
            LOG.log(System.Logger.Level.INFO, "routing snapshot at revision {0}: {1}", event.getRevision(), all);
        } else if (event.getType() == RoutingEvent.Type.CHANGE) {
            for (RoutingEntry e : event.getEntriesList()) {
                table.apply(event.getRevision(), route(e));
                LOG.log(System.Logger.Level.INFO, "routing change at revision {0}: {1}", event.getRevision(), route(e));
            }
        }
    }

    private static Route route(RoutingEntry e) {
        return new Route(e.getModel(), e.getStableVersion(), e.getCanaryVersion(), e.getCanaryWeight(), e.getRevision(),
                e.getReason());
    }

    /** The automatic abort's only registry write: canary weight 0, if the route is still at this revision. */
    public RoutingEntry abortCanary(Route route, String reason) {
        Metadata headers = new Metadata();
        config.registry().token().filter(t -> !t.isBlank()).ifPresent(t -> headers.put(AUTHORIZATION, "Bearer " + t));
        return ModelRegistryGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .setRouting(SetRoutingRequest.newBuilder().setModel(route.model()).setStableVersion(route.stable())
                        .setCanaryVersion(route.canary()).setCanaryWeight(0).setReason(reason)
                        .setExpectedRevision(route.revision()).build());
    }

    public synchronized void stop() {
        stopped = true;
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
        if (channel != null) {
            channel.shutdownNow();
        }
    }
}
