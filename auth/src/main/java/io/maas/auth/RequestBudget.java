package io.maas.auth;

import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The request bytes a process holds at once (an inference pod; the router, for the bodies it reads and
 * forwards), from a request's first byte read until its call is answered. In a pod that is direct memory
 * while a request is read (capped by the JVM) and heap while it is queued or run: without a budget a few
 * large requests read at once exhaust direct memory, and the transport drops the whole connection, other
 * callers' calls on it included.
 * <p>
 * A request's first {@link #FREE_BYTES} are not counted: small calls, which are almost all calls, never
 * touch the shared counter and are never refused by it. Beyond them a request takes its bytes as they
 * arrive. When they do not fit, the request is refused, unless it is the oldest of those still being
 * read and the others hold less than the limit: that one may go on over it, so large requests arriving
 * together cannot all refuse each other part-way with none finishing. The process holds at most the
 * limit plus one message.
 */
public final class RequestBudget {
    /** Bytes of each request left out of the count. */
    public static final long FREE_BYTES = 64 * 1024;

    private final long limit;
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong arrivals = new AtomicLong();
    /** Arrival numbers of the counted requests still being read; the first is the oldest. */
    private final ConcurrentSkipListSet<Long> reading = new ConcurrentSkipListSet<>();

    public RequestBudget(long limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the request byte budget must be positive, got " + limit);
        }
        this.limit = limit;
    }

    private boolean tryTake(long bytes) {
        while (true) {
            long now = held.get();
            if (now + bytes > limit) {
                return false;
            }
            if (held.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    public long held() {
        return held.get();
    }

    public long limit() {
        return limit;
    }

    public Request request() {
        return new Request(1);
    }

    /**
     * A request whose every byte beyond the free ones counts {@code weight} times: what holding it costs
     * (the router's REST twin holds a body 3 times while it forwards it).
     */
    public Request request(long weight) {
        return new Request(weight);
    }

    /**
     * Whether {@code bytes} more would fit now, taking nothing: a request of known size is refused at
     * its headers when it could not be held whole, rather than part-way through its body.
     */
    public boolean fits(long bytes) {
        return held.get() + bytes <= limit;
    }

    /**
     * A body's declared length (an HTTP Content-Length value), or {@code otherwise} when it has none
     * or it is not a number (a chunked body: the most it may be).
     */
    public static long declaredLength(String value, long otherwise) {
        try {
            return value == null ? otherwise : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** Bytes as MiB with one decimal, for messages. */
    public static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /** Counts one request's bytes as they arrive. Not thread-safe: one per request, fed by one thread at a time. */
    public final class Request {
        private final long weight;
        private long seen;
        private long taken;
        private long arrival = -1;
        private boolean refused;
        private boolean ended;

        private Request(long weight) {
            this.weight = weight;
        }

        /**
         * Notes {@code bytes} more of this request; false when they would take the process over its limit,
         * and from then on (the caller refuses the request).
         */
        public boolean arrived(long bytes) {
            if (refused || ended) {
                return !refused;
            }
            long counted = (Math.max(0, seen + bytes - FREE_BYTES) - Math.max(0, seen - FREE_BYTES)) * weight;
            seen += bytes;
            if (counted == 0) {
                return true;
            }
            if (arrival < 0) {
                arrival = arrivals.incrementAndGet();
                reading.add(arrival);
            }
            if (!tryTake(counted)) {
                // the oldest still being read goes on while the others hold less than the limit: the
                // process then holds at most the limit plus one message
                if (reading.first() != arrival || held.get() - taken >= limit) {
                    refused = true;
                    reading.remove(arrival);
                    return false;
                }
                held.addAndGet(counted);
            }
            taken += counted;
            return true;
        }

        /**
         * Takes a request's whole declared size at once, before its body is read (an HTTP body of known
         * length), {@code weighed} by what holding it costs (parsed JSON: several times its bytes); a body
         * within {@link #FREE_BYTES} is not counted however it is weighed. False when it does not fit, and
         * the request then holds nothing.
         */
        public boolean arrivedWhole(long bytes, long weighed) {
            if (!arrived(bytes <= FREE_BYTES ? bytes : Math.max(bytes, weighed))) {
                ended();
                return false;
            }
            read(); // taken whole: no claim to go over the limit later
            return true;
        }

        /** The request's message has been read whole: it no longer has a claim to go over the limit. */
        public void read() {
            if (arrival >= 0) {
                reading.remove(arrival);
            }
        }

        /** The request is over (answered, refused or cancelled): its bytes go back. */
        public void ended() {
            if (!ended) {
                ended = true;
                read();
                held.addAndGet(-taken);
                taken = 0;
            }
        }

        /**
         * Why this request was refused, for its caller: what it and the others took, the limit, what to do.
         * {@code holder} names the process ("the pod", "the router").
         */
        public String refusal(String holder) {
            return refusal(holder, "this request (" + mib(seen) + " read so far)");
        }

        /** The same, with {@code what} saying what this request counted. */
        public String refusal(String holder, String what) {
            return what + " and the " + mib(Math.max(0, held() - taken)) + " of other requests " + holder
                    + " holds would pass its limit of " + mib(limit)
                    + " (MAAS_MAX_REQUEST_BYTES_IN_FLIGHT); retry with backoff, or send smaller requests";
        }

        /** Bytes of this request seen so far. */
        public long seen() {
            return seen;
        }

        /** Bytes of this request counted against the limit now. */
        public long taken() {
            return taken;
        }
    }
}
