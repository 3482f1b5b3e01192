package io.maas.testsupport;

import java.time.Duration;

/** Waits for a condition with a generous deadline (this is not a timing assertion): the one await of the tests. */
public final class Await {

    /** A condition that may throw while it is not yet true. */
    public interface Check {
        boolean ok() throws Exception;
    }

    public static final Duration DEFAULT = Duration.ofSeconds(120);

    private Await() {
    }

    public static void until(String what, Check check) {
        until(what, DEFAULT, check);
    }

    /** Polls every 100 ms until {@code check} is true; fails with the last exception after {@code timeout}. */
    public static void until(String what, Duration timeout, Check check) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting for " + what, last);
    }
}
