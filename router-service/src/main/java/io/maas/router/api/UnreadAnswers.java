package io.maas.router.api;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.maas.auth.RequestBudget;

/**
 * The router's bound on answers its callers leave unread, gRPC and REST alike. The router reads a pod's
 * answer at once (a slow caller must not stall a pod connection others share), so an answer its caller
 * does not read waits in the router's memory until the caller's window or socket takes it. Without a
 * bound, a caller that asks and never reads fills the router until it dies for everyone.
 * <p>
 * The policy, in one place: a connection with answers waiting may hold at most a quarter of
 * MAAS_MAX_ANSWER_BYTES_WAITING, past which its next answer is refused; when all connections together
 * would pass the whole, the connection holding the most is closed (its answers dropped), so a caller
 * that reads its answers is never refused because others do not.
 */
final class UnreadAnswers {
    /** A caller's connection, as far as its unread answers go. */
    interface Holder {
        /** Answer bytes written to this connection and not yet on the wire. */
        long waiting();

        /** Closes the connection, dropping what waits on it. */
        void evict(String why);
    }

    private static final System.Logger LOG = System.getLogger(UnreadAnswers.class.getName());

    private final long max;
    private final Runnable onRefused;
    private final Runnable onEvicted;
    private final AtomicLong total = new AtomicLong();
    /** Connections that may hold answers: gRPC ones while open, REST ones while some wait. */
    private final Set<Holder> holders = ConcurrentHashMap.newKeySet();

    /** {@code onRefused} and {@code onEvicted} count refused answers and closed connections. */
    UnreadAnswers(long max, Runnable onRefused, Runnable onEvicted) {
        this.max = max;
        this.onRefused = onRefused;
        this.onEvicted = onEvicted;
    }

    long total() {
        return total.get();
    }

    void holding(Holder h) {
        holders.add(h);
    }

    void released(Holder h) {
        holders.remove(h);
    }

    /** Bytes now waiting (positive) or gone on the wire or dropped (negative), over all connections. */
    void waiting(long delta) {
        total.addAndGet(delta);
    }

    /**
     * Whether an answer of {@code bytes} may wait on {@code h}: false when {@code h} would pass its
     * share (counted as refused; the caller gets why from {@link #why}). When the whole would be
     * passed, the connection holding the most is closed first, unless that is {@code h} (refused).
     */
    boolean admit(Holder h, long bytes) {
        long mine = h.waiting();
        boolean fits = mine == 0 || mine + bytes <= max / 4;
        if (fits && total.get() + bytes > max && total.get() > 0) {
            Holder worst = null;
            long most = mine;
            for (Holder other : holders) {
                long w = other.waiting();
                if (other != h && w > most) {
                    worst = other;
                    most = w;
                }
            }
            if (worst != null) {
                LOG.log(System.Logger.Level.WARNING, "closing a caller connection that left {0} of answers unread: "
                        + "the router holds {1} for unread answers (MAAS_MAX_ANSWER_BYTES_WAITING)",
                        RequestBudget.mib(most), RequestBudget.mib(total.get()));
                onEvicted.run();
                worst.evict("the router holds " + RequestBudget.mib(total.get()) + " of answers callers have not read "
                        + "(MAAS_MAX_ANSWER_BYTES_WAITING), " + RequestBudget.mib(most) + " of them for this connection: closed");
            } else {
                fits = mine == 0;
            }
        }
        if (!fits) {
            onRefused.run();
        }
        return fits;
    }

    /** The caller's word for a refused answer. */
    String why(Holder h, long bytes) {
        return "the caller has not read " + RequestBudget.mib(h.waiting()) + " of earlier answers on this connection and "
                + "the router holds " + RequestBudget.mib(total.get()) + " for such callers (MAAS_MAX_ANSWER_BYTES_WAITING): "
                + "this answer of " + RequestBudget.mib(bytes) + " is dropped; read answers as they come";
    }
}
