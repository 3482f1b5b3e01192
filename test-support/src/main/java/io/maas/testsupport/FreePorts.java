package io.maas.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * Ports for the services a test starts: taken from the kernel (bind to port 0), never fixed, so a
 * test never collides with another program on the machine.
 */
public final class FreePorts {

    private FreePorts() {
    }

    /** A loopback port free right now; the process given it binds it moments later. */
    public static int take() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }
}
