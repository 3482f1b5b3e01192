package io.maas.inference.adapters.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.maas.inference.TestModels;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.Device;
import io.maas.inference.domain.ModelRunner;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.Tensor;

/** The CPU arena setting (MAAS_ONNX_CPU_ARENA) changes where buffers live, never the results. */
class OnnxModelLoaderTest {

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void runsTheTinyModelWithTheCpuArenaOnOrOff(boolean cpuArena) {
        float[] a = new float[16];
        float[] b = new float[16];
        for (int i = 0; i < 16; i++) {
            a[i] = i;
            b[i] = 1f;
        }
        try (ModelRunner runner = new OnnxModelLoader(Device.CPU, 1, cpuArena).load(
                TestModels.repository().resolve("simple/1/model.onnx"), ModelSettings.defaults(16))) {
            assertEquals("CPU", runner.executionProvider());
            // Two runs: with the arena off the second one allocates afresh instead of reusing.
            for (int run = 0; run < 2; run++) {
                Map<String, Tensor> out = runner.run(Map.of("INPUT0", tensor("INPUT0", a), "INPUT1", tensor("INPUT1", b)),
                        Set.of("OUTPUT0", "OUTPUT1"));
                float[] sum = new float[16];
                float[] diff = new float[16];
                for (int i = 0; i < 16; i++) {
                    sum[i] = a[i] + 1f;
                    diff[i] = a[i] - 1f;
                }
                assertArrayEquals(sum, floats(out.get("OUTPUT0")), "OUTPUT0 = INPUT0 + INPUT1");
                assertArrayEquals(diff, floats(out.get("OUTPUT1")), "OUTPUT1 = INPUT0 - INPUT1");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "0"})
    void aModelMayChooseItsOwnIntraOpThreadCount(String threads) {
        try (ModelRunner runner = new OnnxModelLoader(Device.CPU, 2, true).load(
                TestModels.repository().resolve("simple/1/model.onnx"), withParameters(Map.of("intra_op_thread_count", threads)))) {
            float[] a = new float[16];
            Map<String, Tensor> out = runner.run(Map.of("INPUT0", tensor("INPUT0", a), "INPUT1", tensor("INPUT1", a)),
                    Set.of("OUTPUT0"));
            assertArrayEquals(a, floats(out.get("OUTPUT0")));
        }
    }

    @org.junit.jupiter.api.Test
    void aThreadCountThatIsNotAWholeNumberMakesTheModelUnavailable() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.maas.inference.domain.InferenceException.class,
                () -> new OnnxModelLoader(Device.CPU, 2, true).load(TestModels.repository().resolve("simple/1/model.onnx"),
                        withParameters(Map.of("intra_op_thread_count", "two"))));
        assertEquals(io.maas.inference.domain.InferenceException.Kind.UNAVAILABLE, e.kind());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("intra_op_thread_count is 'two'"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"session.intra_op.allow_spinning, 0", "session.intra_op.allow_spinning, 1",
                "session.force_spinning_stop, 1", "session.dynamic_block_base, 4"})
    void aModelMaySetOnnxRuntimeThreadPoolEntries(String key, String value) {
        try (ModelRunner runner = new OnnxModelLoader(Device.CPU, 2, true).load(
                TestModels.repository().resolve("simple/1/model.onnx"),
                withParameters(Map.of("intra_op_thread_count", "2", key, value)))) {
            float[] a = new float[16];
            Map<String, Tensor> out = runner.run(Map.of("INPUT0", tensor("INPUT0", a), "INPUT1", tensor("INPUT1", a)),
                    Set.of("OUTPUT0"));
            assertArrayEquals(a, floats(out.get("OUTPUT0")));
        }
    }

    @ParameterizedTest
    @CsvSource({"session.intra_op.allow_spinning, false, '\"0\"'", "session.intra_op.allow_spinning, 2, '\"0\"'",
                "session.force_spinning_stop, yes, '\"0\"'", "session.dynamic_block_base, 0, 'a whole number'",
                "session.dynamic_block_base, four, 'a whole number'", "session.dynamic_block_base, -4, 'a whole number'"})
    void anOnnxRuntimeEntryWithAValueItDoesNotTakeMakesTheModelUnavailable(String key, String value, String accepted) {
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.maas.inference.domain.InferenceException.class,
                () -> new OnnxModelLoader(Device.CPU, 2, true).load(TestModels.repository().resolve("simple/1/model.onnx"),
                        withParameters(Map.of(key, value))));
        assertEquals(io.maas.inference.domain.InferenceException.Kind.UNAVAILABLE, e.kind());
        org.junit.jupiter.api.Assertions.assertTrue(
                e.getMessage().contains("parameter " + key + " is '" + value + "'; it must be " + accepted), e.getMessage());
    }

    private static ModelSettings withParameters(Map<String, String> parameters) {
        ModelSettings d = ModelSettings.defaults(16);
        return new ModelSettings(d.maxBatchSize(), d.batchingEnabled(), d.maxQueueDelayMicros(), d.maxQueueSize(),
                d.instanceCount(), d.device(), d.deviceId(), d.versionPolicy(), d.modelFilename(), d.declaredInputs(),
                d.declaredOutputs(), d.platform(), parameters, d.steps(), d.raggedInputs(), d.labelFiles(), 0);
    }

    private static Tensor tensor(String name, float[] values) {
        ByteBuffer buf = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        buf.asFloatBuffer().put(values);
        return Tensor.ofBuffer(name, Datatype.FP32, new long[] {1, values.length}, buf);
    }

    private static float[] floats(Tensor t) {
        ByteBuffer data = t.data().duplicate().order(ByteOrder.nativeOrder());
        float[] out = new float[(int) t.elementCount()];
        data.asFloatBuffer().get(out);
        return out;
    }
}
