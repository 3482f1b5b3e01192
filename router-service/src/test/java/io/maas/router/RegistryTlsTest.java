package io.maas.router;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.TensorSpec;
import io.maas.router.adapters.RegistryWatcher;
import io.maas.router.domain.Route;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.domain.RoutingTable;
import io.maas.testsupport.TestCertificates;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * TLS between the router and a real model-registry process serving TLS on its gRPC port
 * (MAAS_GRPC_TLS_CERT / MAAS_GRPC_TLS_KEY, a server certificate signed by a throwaway CA from
 * test-support's TestCertificates). The router under test trusts that CA and gets the routing
 * table and makes its abort write over TLS. Further watchers, configured from the same environment
 * variables the Helm chart sets, show what goes wrong visibly: plaintext against TLS, a CA that did
 * not sign the certificate, a CA file that is missing or not PEM. Ports 19300-19399 only.
 */
@QuarkusTest
@QuarkusTestResource(value = RegistryTlsTest.TlsRegistry.class, restrictToAnnotatedClass = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryTlsTest {

    static final int REGISTRY_HTTP = io.maas.testsupport.FreePorts.take();
    static final int REGISTRY_GRPC = io.maas.testsupport.FreePorts.take();
    static final Path WORK = Cluster.ROOT.resolve("router-service/target/it-tls");
    static final Path CA = WORK.resolve("ca.pem");
    static final Path OTHER_CA = WORK.resolve("other-ca.pem");
    /** The certificate names localhost (and 127.0.0.1), so this is the name the router verifies. */
    static final String ADDRESS = "localhost:" + REGISTRY_GRPC;

    public static class TlsRegistry implements QuarkusTestResourceLifecycleManager {
        Process registry;

        @Override
        public Map<String, String> start() {
            try {
                Cluster.deleteTree(WORK);
                Files.createDirectories(WORK);
                makeCertificates();
                registry = Cluster.java(Cluster.ROOT.resolve("model-registry/target/quarkus-app/quarkus-run.jar"), List.of(),
                        Map.of("MAAS_GRPC_PORT", "" + REGISTRY_GRPC, "MAAS_HTTP_PORT", "" + REGISTRY_HTTP,
                                "MAAS_REGISTRY_DATA_DIR", WORK.resolve("registry-data").toString(),
                                "MAAS_GRPC_TLS_CERT", WORK.resolve("tls.pem").toString(),
                                "MAAS_GRPC_TLS_KEY", WORK.resolve("tls.key").toString()),
                        WORK.resolve("registry.log"));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            ManagedChannel ch = tlsChannel();
            try {
                Cluster.await("registry (TLS) on " + REGISTRY_GRPC, () -> {
                    Cluster.registryStub(ch).listModels(ListModelsRequest.getDefaultInstance());
                    return true;
                });
                seed(ch);
            } finally {
                ch.shutdownNow();
            }
            Map<String, String> config = new HashMap<>();
            config.put("maas.registry.address", ADDRESS);
            config.put("maas.registry.tls.enabled", "true");
            config.put("maas.registry.tls.ca", CA.toString());
            config.put("maas.endpoints.source", "static");
            return config;
        }

        @Override
        public void stop() {
            Cluster.stop(registry);
        }

        /** A CA, a server certificate it signs for localhost, and an unrelated second CA. */
        static void makeCertificates() {
            TestCertificates certs = TestCertificates.in(WORK);
            certs.authority("ca").server("tls");
            certs.authority("other-ca");
        }

        static void seed(ManagedChannel ch) {
            var stub = Cluster.registryStub(ch);
            stub.createModel(CreateModelRequest.newBuilder().setName("simple").build());
            for (String v : List.of("1", "2")) {
                var req = RegisterVersionRequest.newBuilder().setModel("simple").setVersion(v)
                        .setArtifactUri("file:///models/simple/" + v + "/model.onnx").setSha256("0".repeat(64))
                        .setFramework("onnx");
                req.addInputs(TensorSpec.newBuilder().setName("INPUT0").setDatatype("FP32").addShape(-1).addShape(16));
                req.addOutputs(TensorSpec.newBuilder().setName("OUTPUT0").setDatatype("FP32").addShape(-1).addShape(16));
                stub.registerVersion(req.build());
            }
            stub.setRouting(SetRoutingRequest.newBuilder().setModel("simple").setStableVersion("1").setCanaryVersion("2")
                    .setCanaryWeight(30).setReason("tls test").build());
        }
    }

    static ManagedChannel tlsChannel() {
        try {
            return NettyChannelBuilder.forTarget(ADDRESS, TlsChannelCredentials.newBuilder().trustManager(CA.toFile()).build())
                    .build();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The router's configuration as the chart gives it: application.properties plus these environment variables. */
    static RouterConfig configFromEnv(Map<String, String> env) throws IOException {
        return new SmallRyeConfigBuilder()
                .addDefaultInterceptors() // ${MAAS_...:default} expressions, as in the running router
                .withSources(new PropertiesConfigSource(RegistryTlsTest.class.getResource("/application.properties"), 250))
                .withSources(new EnvConfigSource(env, 300))
                .withMapping(RouterConfig.class)
                .build().getConfigMapping(RouterConfig.class);
    }

    /** What RegistryWatcher logs, to check that a failure says why. */
    static final class Captured extends Handler {
        final List<String> lines = new CopyOnWriteArrayList<>();
        final SimpleFormatter formatter = new SimpleFormatter();

        @Override
        public void publish(LogRecord record) {
            lines.add(formatter.formatMessage(record));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    static final Logger WATCHER_LOG = Logger.getLogger(RegistryWatcher.class.getName());
    final Captured log = new Captured();

    @Inject
    RoutingTable table;
    @Inject
    RegistryWatcher watcher;

    ManagedChannel registry;

    @BeforeAll
    void setUp() {
        WATCHER_LOG.addHandler(log);
        registry = tlsChannel();
    }

    @AfterAll
    void tearDown() {
        WATCHER_LOG.removeHandler(log);
        registry.shutdownNow();
    }

    RoutingEntry registryRouting() {
        return Cluster.registryStub(registry).getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
    }

    @Test
    void routerGetsTheRoutingTableOverTls() {
        Cluster.await("the router's routing table", table::received);
        RoutingEntry current = registryRouting();
        Cluster.await("revision " + current.getRevision(), () -> table.revision() >= current.getRevision());
        Route route = table.routes().get("simple");
        assertEquals("1", route.stable());
        assertEquals("2", route.canary());
        given().get("/q/health/ready").then().statusCode(200);
    }

    @Test
    void abortWriteGoesOverTheSameTlsChannel() {
        Cluster.registryStub(registry).setRouting(SetRoutingRequest.newBuilder().setModel("simple").setStableVersion("1")
                .setCanaryVersion("2").setCanaryWeight(40).setReason("tls test: widen").build());
        Cluster.await("weight 40 through the watch", () -> table.received() && table.routes().get("simple").canaryWeight() == 40);
        long revision = watcher.abortCanary(table.routes().get("simple"), "router auto-abort: tls test");
        assertEquals(revision, registryRouting().getRevision());
        assertEquals(0, registryRouting().getCanaryWeight());
        assertEquals("router auto-abort: tls test", registryRouting().getReason());
        Cluster.await("weight 0 through the watch", () -> table.routes().get("simple").canaryWeight() == 0);
    }

    /** Starts a watcher with its own table from these environment variables, lets it try for a while, stops it. */
    RoutingTable watchFor(Map<String, String> env, long millis) throws Exception {
        RoutingTable own = new RoutingTable();
        RegistryWatcher w = new RegistryWatcher(configFromEnv(env), own);
        w.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            while (System.nanoTime() < deadline && !own.received()) {
                Thread.sleep(50);
            }
        } finally {
            w.stop();
        }
        return own;
    }

    @Test
    void environmentAsTheChartSetsItGetsTheTable() throws Exception {
        RoutingTable own = watchFor(Map.of("MAAS_REGISTRY_ADDRESS", ADDRESS, "MAAS_REGISTRY_TLS", "true",
                "MAAS_REGISTRY_CA", CA.toString()), 20_000);
        assertTrue(own.received(), String.join("\n", log.lines));
        assertEquals("1", own.routes().get("simple").stable());
    }

    @Test
    void plaintextRouterGetsNoTableAndLogsWhy() throws Exception {
        log.lines.clear();
        RoutingTable own = watchFor(Map.of("MAAS_REGISTRY_ADDRESS", ADDRESS), 3_000);
        assertFalse(own.received(), "a plaintext router got a table from a TLS registry");
        String failures = String.join("\n", log.lines);
        assertTrue(failures.contains("registry channel to " + ADDRESS + ": plaintext"), failures);
        assertTrue(failures.contains("watch failed: UNAVAILABLE: Network closed for unknown reason (the registry closed "
                + "a plaintext connection: if it serves TLS, set MAAS_REGISTRY_TLS=true (and MAAS_REGISTRY_CA to its CA))"), failures);
    }

    @Test
    void untrustedCertificateGetsNoTableAndLogsWhy() throws Exception {
        log.lines.clear();
        RoutingTable own = watchFor(Map.of("MAAS_REGISTRY_ADDRESS", ADDRESS, "MAAS_REGISTRY_TLS", "true",
                "MAAS_REGISTRY_CA", OTHER_CA.toString()), 3_000);
        assertFalse(own.received(), "a router trusting another CA got a table");
        String failures = String.join("\n", log.lines);
        assertTrue(failures.contains("watch failed: UNAVAILABLE: io exception (SunCertPathBuilderException: "
                + "unable to find valid certification path to requested target)"), failures);
        assertFalse(failures.contains("MAAS_REGISTRY_TLS=true"), "a TLS failure hinted at plaintext:\n" + failures);
    }

    @Test
    void unusableCaFileFailsStartup() throws Exception {
        Path missing = WORK.resolve("no-such-ca.crt");
        var e = assertThrows(IllegalStateException.class,
                () -> watchFor(Map.of("MAAS_REGISTRY_ADDRESS", ADDRESS, "MAAS_REGISTRY_CA", missing.toString()), 0));
        assertTrue(e.getMessage().startsWith("MAAS_REGISTRY_CA (maas.registry.tls.ca): cannot read the CA file " + missing),
                e.getMessage());
        Path notPem = Files.writeString(WORK.resolve("not-a-ca.txt"), "subjectAltName=DNS:localhost\n");
        e = assertThrows(IllegalStateException.class, () -> watchFor(Map.of("MAAS_REGISTRY_ADDRESS", ADDRESS,
                "MAAS_REGISTRY_TLS", "true", "MAAS_REGISTRY_CA", notPem.toString()), 0));
        assertTrue(e.getMessage().startsWith("MAAS_REGISTRY_CA (maas.registry.tls.ca): " + notPem + " is not a PEM"),
                e.getMessage());
    }
}
