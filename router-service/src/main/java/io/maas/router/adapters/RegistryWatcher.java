package io.maas.router.adapters;

import io.maas.router.domain.ModelCatalog;
import io.maas.router.domain.Route;
import io.maas.router.domain.RoutingTable;
import io.maas.router.domain.RoutingWriter;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ListVersionsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.WatchRoutingRequest;

/**
 * Holds one WatchRouting stream open to the registry and applies its events to the routing table:
 * a SNAPSHOT replaces the table, a CHANGE replaces one model's entry. When the stream breaks
 * (registry restarting, network), the router keeps its last table and reconnects with exponential
 * backoff and jitter, resuming from the last revision it applied. The watch and the canary-abort
 * write share one channel: plaintext, or TLS when MAAS_REGISTRY_TLS / MAAS_REGISTRY_CA say so.
 * It also keeps the registry's catalog (models and their versions), read after every routing
 * event and every {@link #CATALOG_REFRESH_SECONDS} s, so the router can tell a caller that a model
 * or version does not exist; a registry outage keeps the last catalog.
 */
@ApplicationScoped
public class RegistryWatcher implements RoutingWriter, ModelCatalog {

    static final int CATALOG_REFRESH_SECONDS = 30;

    private static final System.Logger LOG = System.getLogger(RegistryWatcher.class.getName());
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final RouterConfig config;
    private final RoutingTable table;

    private ManagedChannel channel;
    private boolean plaintext;
    private ScheduledExecutorService scheduler;
    private volatile boolean stopped;
    private long backoffMs;
    private volatile int reconnects;
    private volatile Map<String, Set<String>> catalog = Map.of();
    private boolean catalogPending;

    @Inject
    public RegistryWatcher(RouterConfig config, RoutingTable table) {
        this.config = config;
        this.table = table;
    }

    /** Opens the channel and the watch; throws (failing start-up) when the TLS settings cannot be used. */
    public synchronized void start() {
        String address = config.registry().address().orElseThrow();
        Optional<String> ca = config.registry().tls().ca().filter(c -> !c.isBlank());
        plaintext = !config.registry().tls().enabled() && ca.isEmpty();
        channel = channel(address, plaintext, ca);
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "registry-watch");
            t.setDaemon(true);
            return t;
        });
        backoffMs = config.registry().reconnectMinMs();
        scheduler.execute(this::connect);
        scheduler.scheduleWithFixedDelay(this::refreshCatalog, CATALOG_REFRESH_SECONDS, CATALOG_REFRESH_SECONDS,
                TimeUnit.SECONDS);
    }

    @Override
    public Set<String> models() {
        return catalog.keySet();
    }

    @Override
    public Set<String> versions(String model) {
        return catalog.getOrDefault(model, Set.of());
    }

    /** Reads the catalog soon, once however many routing events arrive meanwhile. */
    private synchronized void refreshCatalogSoon() {
        if (catalogPending || stopped || scheduler == null) {
            return;
        }
        catalogPending = true;
        scheduler.schedule(this::refreshCatalog, 50, TimeUnit.MILLISECONDS);
    }

    private void refreshCatalog() {
        synchronized (this) {
            catalogPending = false;
        }
        try {
            var stub = ModelRegistryGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(
                    credentials()));
            Map<String, Set<String>> next = new HashMap<>();
            String page = "";
            do {
                var models = stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                        .listModels(ListModelsRequest.newBuilder().setPageToken(page).build());
                for (var m : models.getModelsList()) {
                    Set<String> versions = new TreeSet<>();
                    String vpage = "";
                    do {
                        var vs = stub.withDeadlineAfter(5, TimeUnit.SECONDS).listVersions(ListVersionsRequest.newBuilder()
                                .setModel(m.getName()).setPageToken(vpage).build());
                        vs.getVersionsList().forEach(v -> versions.add(v.getVersion()));
                        vpage = vs.getNextPageToken();
                    } while (!vpage.isEmpty());
                    next.put(m.getName(), Set.copyOf(versions));
                }
                page = models.getNextPageToken();
            } while (!page.isEmpty());
            catalog = Map.copyOf(next);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "catalog read failed, keeping the last one: {0}", describe(e, plaintext));
        }
    }

    private Metadata credentials() {
        Metadata headers = new Metadata();
        config.registry().token().filter(t -> !t.isBlank()).ifPresent(t -> headers.put(AUTHORIZATION, "Bearer " + t));
        return headers;
    }

    private static ManagedChannel channel(String address, boolean plaintext, Optional<String> ca) {
        ChannelCredentials credentials;
        String mode;
        if (!plaintext) {
            var builder = TlsChannelCredentials.newBuilder();
            if (ca.isPresent()) {
                try {
                    builder.trustManager(new File(ca.get()));
                } catch (IOException e) {
                    throw new IllegalStateException("MAAS_REGISTRY_CA (maas.registry.tls.ca): cannot read the CA file "
                            + ca.get() + ": " + e, e);
                }
            }
            credentials = builder.build();
            mode = ca.map(c -> "TLS, trusting " + c).orElse("TLS, trusting the JVM's default CAs");
        } else {
            credentials = InsecureChannelCredentials.create();
            mode = "plaintext";
        }
        NettyChannelBuilder builder;
        try {
            // The certificates are parsed here, so a file that is not PEM fails start-up, not every call.
            builder = NettyChannelBuilder.forTarget(address, credentials);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("MAAS_REGISTRY_CA (maas.registry.tls.ca): " + ca.orElse("")
                    + " is not a PEM certificate file: " + e.getMessage(), e);
        }
        LOG.log(System.Logger.Level.INFO, "registry channel to {0}: {1}", address, mode);
        return builder.keepAliveTime(20, TimeUnit.SECONDS).keepAliveWithoutCalls(true).build();
    }

    /**
     * The status and its root cause: grpc reports a refused certificate as "UNAVAILABLE: io exception"
     * (plus a multi-line pipeline dump), which alone does not say why. A TLS registry drops a plaintext
     * connection without a word ("Network closed for unknown reason", no cause), hence the hint.
     */
    static String describe(Throwable t, boolean plaintext) {
        Status status = Status.fromThrowable(t);
        StringBuilder s = new StringBuilder(status.getCode().name());
        if (status.getDescription() != null) {
            s.append(": ").append(status.getDescription().lines().findFirst().orElse(""));
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t) {
            s.append(" (").append(root.getClass().getSimpleName()).append(": ").append(root.getMessage()).append(')');
        } else if (plaintext && status.getCode() == Status.Code.UNAVAILABLE) {
            s.append(" (the registry closed a plaintext connection: if it serves TLS, set MAAS_REGISTRY_TLS=true"
                    + " (and MAAS_REGISTRY_CA to its CA))");
        }
        return s.toString();
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
                        retry("watch failed: " + describe(t, plaintext));
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
        refreshCatalogSoon();
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

    /** A stub for writes to the registry (token attached), on the watch's channel; null before {@link #start()}. */
    public synchronized ModelRegistryGrpc.ModelRegistryBlockingStub writer() {
        return channel == null ? null : ModelRegistryGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(credentials()));
    }

    /** The automatic abort's only registry write: canary weight 0, if the route is still at this revision. */
    @Override
    public long abortCanary(Route route, String reason) {
        return ModelRegistryGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(credentials()))
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .setRouting(SetRoutingRequest.newBuilder().setModel(route.model()).setStableVersion(route.stable())
                        .setCanaryVersion(route.canary()).setCanaryWeight(0).setReason(reason)
                        .setExpectedRevision(route.revision()).build()).getRevision();
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
