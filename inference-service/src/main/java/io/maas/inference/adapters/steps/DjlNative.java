package io.maas.inference.adapters.steps;

import java.nio.file.Path;

/**
 * DJL's switches, set once before the first tokenizer loads, unless the operator set them: offline
 * (never download, the native library ships in the jar), and the folder it unpacks that library into
 * under java.io.tmpdir, as ONNX Runtime does, rather than the user's home (read-only in a pod).
 */
final class DjlNative {
    private DjlNative() {
    }

    static synchronized void prepare() {
        if (System.getProperty("offline") == null) {
            System.setProperty("offline", "true");
        }
        if (System.getenv("ENGINE_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null
                && System.getProperty("ENGINE_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
            System.setProperty("ENGINE_CACHE_DIR", Path.of(System.getProperty("java.io.tmpdir"),
                    "maas-djl-" + System.getProperty("user.name")).toString());
        }
    }
}
