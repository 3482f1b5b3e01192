package io.maas.registry.bench;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.TensorSpec;
import io.maas.proto.registry.WatchRoutingRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: measures a running registry over loopback gRPC.
 * <ul>
 * <li>writes/s: SetRouting calls from N concurrent clients (each a committed, audited revision);</li>
 * <li>fan-out: time from sending one routing change until each of 50 watchers has received it
 * (the slowest of the 50 per change), p50/p99 over the changes.</li>
 * </ul>
 * Run: see docs/registry.md ("Benchmark"). Args: host:port [writes=2000] [clients=4] [watchers=50] [changes=200]
 */
public final class RegistryBenchmark {

    public static void main(String[] args) throws Exception {
        String address = args.length > 0 ? args[0] : "127.0.0.1:9001";
        int writes = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int clients = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int watchers = args.length > 3 ? Integer.parseInt(args[3]) : 50;
        int changes = args.length > 4 ? Integer.parseInt(args[4]) : 200;
        ManagedChannel channel = ManagedChannelBuilder.forTarget(address).usePlaintext().build();
        var stub = ModelRegistryGrpc.newBlockingStub(channel);
        String model = "bench-" + System.currentTimeMillis();
        stub.createModel(CreateModelRequest.newBuilder().setName(model).build());
        for (var v : List.of("1", "2")) {
            stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(model).setVersion(v).setArtifactUri("file:///b/" + v)
                    .setSha256("00".repeat(32)).addInputs(TensorSpec.newBuilder().setName("x").setDatatype("FP32").addShape(-1)).build());
        }

        // Warm-up, then writes/s.
        for (int i = 0; i < 200; i++) {
            set(stub, model, i % 101);
        }
        var pool = Executors.newFixedThreadPool(clients);
        var done = new CountDownLatch(clients);
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int offset = c;
            pool.execute(() -> {
                for (int i = 0; i < writes / clients; i++) {
                    set(stub, model, (i + offset) % 101);
                }
                done.countDown();
            });
        }
        done.await();
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        System.out.printf("writes: %d SetRouting from %d clients in %.2f s = %.0f writes/s%n", writes / clients * clients, clients, seconds,
                writes / clients * clients / seconds);

        // Fan-out: each watcher records when it saw each revision.
        var seen = new ConcurrentHashMap<Long, long[]>();
        var ready = new CountDownLatch(watchers);
        List<ManagedChannel> channels = new ArrayList<>();
        for (int w = 0; w < watchers; w++) {
            var ch = ManagedChannelBuilder.forTarget(address).usePlaintext().build(); // one connection per watcher, like routers
            channels.add(ch);
            int index = w;
            ModelRegistryGrpc.newStub(ch).watchRouting(WatchRoutingRequest.getDefaultInstance(), new StreamObserver<>() {
                @Override
                public void onNext(RoutingEvent e) {
                    if (e.getType() == RoutingEvent.Type.SNAPSHOT) {
                        ready.countDown();
                    } else {
                        seen.computeIfAbsent(e.getRevision(), r -> new long[watchers])[index] = System.nanoTime();
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
        }
        ready.await(60, TimeUnit.SECONDS);
        long[] fanout = new long[changes];
        for (int i = 0; i < changes; i++) {
            long sent = System.nanoTime();
            long revision = set(stub, model, i % 101);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                long[] times = seen.get(revision);
                if (times != null && Arrays.stream(times).allMatch(t -> t != 0)) {
                    fanout[i] = Arrays.stream(times).max().orElseThrow() - sent;
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("revision " + revision + " did not reach all watchers in 30 s");
                }
                Thread.onSpinWait();
            }
        }
        Arrays.sort(fanout);
        System.out.printf("fan-out: change -> all %d watchers notified, over %d changes: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", watchers,
                changes, fanout[changes / 2] / 1e6, fanout[(int) (changes * 0.99)] / 1e6, fanout[changes - 1] / 1e6);
        channels.forEach(ManagedChannel::shutdownNow);
        channel.shutdownNow();
    }

    private static long set(ModelRegistryGrpc.ModelRegistryBlockingStub stub, String model, int weight) {
        return stub.setRouting(SetRoutingRequest.newBuilder().setModel(model).setStableVersion("1").setCanaryVersion("2")
                .setCanaryWeight(weight).setReason("bench").build()).getRevision();
    }
}
