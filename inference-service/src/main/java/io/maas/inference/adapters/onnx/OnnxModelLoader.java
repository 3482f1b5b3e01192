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
        String v = settings.parameter(INTRA_OP_THREADS, "");
        if (v.isEmpty()) {
            return intraOpThreads;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Refused below, with the accepted form.
        }
        throw InferenceException.unavailable("parameter " + INTRA_OP_THREADS + " is '" + v + "'; it must be a"
                + " whole number >= 0 (0: one thread per core)");
    }

    static final String INTRA_OP_THREADS = "intra_op_thread_count";

    /**
     * ONNX Runtime's own session config key, used as the parameter's name as Triton's onnxruntime
     * backend does for {@code session.use_device_allocator_for_initializers}. "0": the intra-op pool's
     * threads sleep between parallel sections instead of spinning, so that concurrent runs sharing the
     * session's pool (several instance_group workers) do not burn the cores the others need.
     */
    static final String ALLOW_SPINNING = "session.intra_op.allow_spinning";

    /** The model's {@link #ALLOW_SPINNING} value, "0" or "1", or null when its config does not set it. */
    private static String allowSpinning(ModelSettings settings) {
        String v = settings.parameter(ALLOW_SPINNING, "");
        if (v.isEmpty()) {
            return null;
        }
        if (v.equals("0") || v.equals("1")) {
            return v;
        }
        throw InferenceException.unavailable("parameter " + ALLOW_SPINNING + " is '" + v + "'; it must be"
                + " \"0\" (pool threads sleep when idle) or \"1\" (they spin, ONNX Runtime's default)");
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
            String spinning = allowSpinning(settings);
            if (spinning != null) {
                options.addConfigEntry(ALLOW_SPINNING, spinning);
            }
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
