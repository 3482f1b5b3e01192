package io.maas.inference.domain;

import java.util.concurrent.CompletableFuture;

/** How a ready model version takes requests: a batching queue, inline, or a pipeline of other models. */
public interface Scheduler extends AutoCloseable {

    /** Takes a validated request; fails at once when it cannot be taken, later failures complete the future. */
    CompletableFuture<InferResult> submit(InferRequest request);

    /** Requests waiting, for metrics and tests. */
    int queued();

    /** Stops taking requests, lets taken ones finish, frees the model. */
    @Override
    void close();
}
