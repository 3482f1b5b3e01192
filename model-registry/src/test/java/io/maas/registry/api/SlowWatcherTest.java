package io.maas.registry.api;

import static io.maas.registry.api.GrpcTestClient.createWithVersions;
import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.WatchRoutingRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A watcher that stops reading must not make the registry buffer routing events for it without
 * bound: once it is {@code maas.registry.watch-max-backlog} events behind, its stream is closed
 * with RESOURCE_EXHAUSTED, and it can resume from the last revision it read.
 */
@QuarkusTest
@TestProfile(SlowWatcherTest.SmallBacklog.class)
class SlowWatcherTest {

    public static class SmallBacklog implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.registry.watch-max-backlog", "20");
        }
    }

    @Inject
    RegistryRuntime runtime;
    @Inject
    MeterRegistry meters;

    @Test
    void aWatcherThatStopsReadingIsClosedAndCanResume() throws Exception {
        ManagedChannel channel = GrpcTestClient.channel();
        // A 1 KiB HTTP/2 window: what this peer does not read piles up in the registry after a few events.
        ManagedChannel slow = NettyChannelBuilder.forAddress("127.0.0.1", GrpcTestClient.port()).usePlaintext()
                .flowControlWindow(1024).build();
        try {
            var stub = GrpcTestClient.stub(channel, null);
            String m = uniqueModel("slow");
            createWithVersions(stub, m, "1", "2");

            BlockingQueue<RoutingEvent> received = new LinkedBlockingQueue<>();
            AtomicReference<Status> closed = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            ClientCall<WatchRoutingRequest, RoutingEvent> call = slow.newCall(ModelRegistryGrpc.getWatchRoutingMethod(),
                    CallOptions.DEFAULT);
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(RoutingEvent message) {
                    received.add(message);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.set(status);
                    done.countDown();
                }
            }, new Metadata());
            call.sendMessage(WatchRoutingRequest.newBuilder().setFromRevision(0).build());
            call.halfClose();
            call.request(1); // the snapshot, then nothing more
            RoutingEvent snapshot = received.poll(30, TimeUnit.SECONDS);
            assertNotNull(snapshot);
            assertEquals(RoutingEvent.Type.SNAPSHOT, snapshot.getType());
            int subscribed = runtime.registry().feed().watcherCount();
            assertTrue(subscribed >= 1, "the watcher that got its snapshot is not counted");

            long last = 0;
            int writes = 0;
            while (runtime.registry().feed().watcherCount() >= subscribed && writes < 3000) {
                last = stub.setRouting(SetRoutingRequest.newBuilder().setModel(m).setStableVersion("1").setCanaryVersion("2")
                        .setCanaryWeight(writes % 100).setReason("slow watcher test").build()).getRevision();
                writes++;
            }
            assertTrue(runtime.registry().feed().watcherCount() < subscribed,
                    "the silent watcher is still subscribed after " + writes + " routing changes");
            assertTrue(meters.get("maas_registry_slow_watchers_closed").counter().count() >= 1);

            // Reading again: what was queued before the cut, then the close with its reason.
            call.request(Integer.MAX_VALUE);
            assertTrue(done.await(30, TimeUnit.SECONDS), "no close after reading the backlog");
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, closed.get().getCode(), closed.get().toString());
            assertTrue(closed.get().getDescription().contains("not reading"), closed.get().toString());
            long lastSeen = received.stream().mapToLong(RoutingEvent::getRevision).max().orElseThrow();
            assertTrue(lastSeen < last, "the closed watcher saw " + lastSeen + ", the last change is " + last);

            // Resuming from the last revision it read brings it up to date (replay or snapshot).
            try (var resumed = new GrpcTestClient.Watch(channel, lastSeen)) {
                RoutingEvent e;
                do {
                    e = resumed.nextFor(m);
                } while (e.getRevision() < last);
                int lastWeight = (writes - 1) % 100;
                assertEquals(lastWeight, e.getEntriesList().stream().filter(x -> x.getModel().equals(m)).findFirst()
                        .orElseThrow().getCanaryWeight());
            }
        } finally {
            slow.shutdownNow();
            channel.shutdownNow();
        }
    }
}
