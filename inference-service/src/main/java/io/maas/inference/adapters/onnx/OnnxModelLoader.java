package io.maas.inference.adapters.onnx;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.Device;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelLoader;
import io.maas.inference.domain.ModelRunner;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.TensorSpec;

/**
 * Loads .onnx files into ONNX Runtime sessions on the configured device. CUDA needs the
 * onnxruntime_gpu build (Maven profile {@code gpu}) and CUDA 12 on the node; when either is missing
 * the model falls back to CPU and the log says so.
 */
public final class OnnxModelLoader implements ModelLoader {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final Device defaultDevice;
    private final int intraOpThreads;
    private final boolean cpuArena;

    /**
     * @param defaultDevice  device for models whose config does not choose one
     * @param intraOpThreads threads per session; 0 lets ONNX Runtime use one per core
     * @param cpuArena       ONNX Runtime's CPU arena allocator and memory pattern: off, each run's
     *                       buffers go back to malloc instead of staying reserved (docs/benchmarks.md)
     */
    public OnnxModelLoader(Device defaultDevice, int intraOpThreads, boolean cpuArena) {
        this.defaultDevice = defaultDevice == Device.AUTO ? Device.CPU : defaultDevice;
        this.intraOpThreads = intraOpThreads;
        this.cpuArena = cpuArena;
    }

    /**
     * The model's own intra-op thread count (Triton's onnxruntime backend parameter
     * {@code intra_op_thread_count}), else the service's. With several instance_group workers on a small
     * CPU, one thread per run keeps the cores busy without ONNX Runtime's pool threads spinning.
     */
    private int intraOpThreads(ModelSettings settings) {
        long n = settings.wholeParameter(INTRA_OP_THREADS, -1, "ONNX Runtime's threads per run (0: one thread per core)");
        return n < 0 ? intraOpThreads : (int) Math.min(n, Integer.MAX_VALUE);
    }

    static final String INTRA_OP_THREADS = "intra_op_thread_count";

    /**
     * ONNX Runtime session config entries a model's config may set, under ONNX Runtime's own keys (as
     * Triton's onnxruntime backend takes {@code session.use_device_allocator_for_initializers}), with
     * the values each accepts. ONNX Runtime ignores keys it does not know and reads some values only
     * when it first needs them, so a typo would pass silently: these are checked when the model loads.
     * <ul>
     * <li>{@code session.intra_op.allow_spinning} "0": the intra-op pool's threads sleep between parallel
     *     sections instead of spinning, so that concurrent runs sharing the session's pool (several
     *     instance_group workers) do not burn the cores the others need;</li>
     * <li>{@code session.force_spinning_stop} "1": they stop spinning as soon as the last concurrent run
     *     returns (they spin during runs, not between them);</li>
     * <li>{@code session.dynamic_block_base} n: parallel loops are split into blocks that shrink as the
     *     work runs out, instead of one share per thread, so a thread the OS preempted (the gRPC
     *     threads share the cores) does not hold the others up.</li>
     * </ul>
     */
    static final Map<String, SessionEntry> SESSION_CONFIG = Map.of(
            "session.intra_op.allow_spinning",
            new SessionEntry("0|1", "\"0\" (pool threads sleep when idle) or \"1\" (they spin, the default)"),
            "session.force_spinning_stop",
            new SessionEntry("0|1", "\"0\" (the default) or \"1\" (no spinning between runs)"),
            "session.dynamic_block_base",
            new SessionEntry("[1-9][0-9]{0,3}", "a whole number from 1 to 9999 (e.g. \"4\")"));

    /** A session config entry's accepted values: as a regular expression, and as the refusal words them. */
    record SessionEntry(String pattern, String accepted) {
    }

    private static void addSessionConfig(OrtSession.SessionOptions options, ModelSettings settings) throws OrtException {
        for (Map.Entry<String, SessionEntry> entry : SESSION_CONFIG.entrySet()) {
            String v = settings.parameter(entry.getKey(), "");
            if (v.isEmpty()) {
                continue;
            }
            if (!v.matches(entry.getValue().pattern())) {
                throw InferenceException.unavailable("parameter " + entry.getKey() + " is '" + v + "'; it must be "
                        + entry.getValue().accepted());
            }
            options.addConfigEntry(entry.getKey(), v);
        }
    }

    @Override
    public ModelRunner load(Path modelFile, ModelSettings settings) {
        if (!Files.isRegularFile(modelFile)) {
            throw InferenceException.unavailable("model file " + modelFile + " does not exist");
        }
        Device device = settings.device() == Device.AUTO ? defaultDevice : settings.device();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setInterOpNumThreads(1);
            int threads = intraOpThreads(settings);
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
            }
            addSessionConfig(options, settings);
            options.setCPUArenaAllocator(cpuArena);
            options.setMemoryPatternOptimization(cpuArena);
            String provider = "CPU";
            if (device == Device.CUDA) {
                try {
                    options.addCUDA(settings.deviceId());
                    provider = "CUDA:" + settings.deviceId();
                } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
                    provider = "CPU (CUDA requested but unavailable: " + e.getMessage() + ")";
                }
            }
            OrtSession session = env.createSession(modelFile.toString(), options);
            try {
                List<TensorSpec> inputs = specs(modelFile, session.getInputInfo());
                List<TensorSpec> outputs = specs(modelFile, session.getOutputInfo());
                return new OnnxModelRunner(env, session, inputs, outputs, provider);
            } catch (InferenceException | OrtException e) {
                session.close();
                throw e;
            }
        } catch (OrtException e) {
            throw InferenceException.unavailable("ONNX Runtime cannot load " + modelFile + ": " + e.getMessage());
        }
    }

    private static List<TensorSpec> specs(Path file, Map<String, NodeInfo> nodes) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : nodes.values()) {
            if (!(node.getInfo() instanceof TensorInfo info)) {
                throw InferenceException.unavailable(file + ": '" + node.getName()
                        + "' is not a tensor (sequences and maps are not served)");
            }
            Datatype datatype = OnnxTypes.datatype(info.onnxType);
            if (datatype == null) {
                throw InferenceException.unavailable(file + ": '" + node.getName() + "' has element type "
                        + info.onnxType + ", which the inference protocol has no datatype for");
            }
            String[] names = info.getDimensionNames();
            List<String> dimensionNames = new ArrayList<>();
            for (int i = 0; names != null && i < names.length; i++) {
                dimensionNames.add(names[i] == null ? "" : names[i]);
            }
            specs.add(new TensorSpec(node.getName(), datatype, info.getShape(), List.copyOf(dimensionNames)));
        }
        return List.copyOf(specs);
    }
}
