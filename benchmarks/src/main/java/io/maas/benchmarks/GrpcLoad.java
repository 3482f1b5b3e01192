package io.maas.benchmarks;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Closed-loop gRPC load: N ModelInfer calls in flight on one channel through the async stub;
 * each completion immediately sends the next call. The request message is built once and
 * reused, so the client's per-call cost is the gRPC call itself and the response parse.
 */
final class GrpcLoad {
    private final GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub;
    private final ModelInferRequest request;
    private final long expectedOutputBytes;

    GrpcLoad(ManagedChannel channel, Workload workload) {
        this.stub = GRPCInferenceServiceGrpc.newStub(channel);
        this.request = workload.request();
        this.expectedOutputBytes = workload.expectedOutputBytes();
    }

    Measurement.Result measure(int concurrency, double warmupSeconds, double durationSeconds) throws Exception {
        Measurement m = new Measurement();
        CountDownLatch drained = new CountDownLatch(concurrency);
        for (int i = 0; i < concurrency; i++) {
            send(m, drained);
        }
        m.run(warmupSeconds, durationSeconds);
        if (!drained.await(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("calls still in flight 120 s after the measurement ended");
        }
        return m.result();
    }

    private void send(Measurement m, CountDownLatch drained) {
        if (m.stopped()) {
            drained.countDown();
            return;
        }
        long start = System.nanoTime();
        stub.modelInfer(request, new StreamObserver<>() {
            @Override
            public void onNext(ModelInferResponse r) {
                long bytes = 0;
                for (int i = 0; i < r.getRawOutputContentsCount(); i++) {
                    bytes += r.getRawOutputContents(i).size();
                }
                if (bytes != expectedOutputBytes) {
                    m.failed("response carried " + bytes + " output bytes, expected " + expectedOutputBytes);
                }
            }

            @Override
            public void onError(Throwable t) {
                m.failed(t.toString());
                if (m.errors() > 1000) {
                    drained.countDown();
                    return;
                }
                send(m, drained);
            }

            @Override
            public void onCompleted() {
                m.completed(start);
                send(m, drained);
            }
        });
    }
}
