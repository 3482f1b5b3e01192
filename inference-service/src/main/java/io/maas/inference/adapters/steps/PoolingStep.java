package io.maas.inference.adapters.steps;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.Tensor;
import io.maas.inference.domain.TensorSpec;

/**
 * The built-in {@code pooling} backend: sentence embeddings from token embeddings, as
 * sentence-transformers computes them: the mean over the positions the attention mask keeps, then
 * (unless {@code normalize: "false"}) divided by its L2 norm.
 */
final class PoolingStep extends BuiltInStep {
    static final String TOKENS = "token_embeddings";
    static final String MASK = "attention_mask";
    static final String OUT = "sentence_embedding";

    private final boolean normalize;

    private PoolingStep(boolean normalize) {
        super(List.of(new TensorSpec(TOKENS, Datatype.FP32, new long[]{-1, -1, -1}, List.of("batch", "sequence", "")),
                        new TensorSpec(MASK, Datatype.INT64, new long[]{-1, -1}, List.of("batch", "sequence"))),
                List.of(new TensorSpec(OUT, Datatype.FP32, new long[]{-1, -1})));
        this.normalize = normalize;
    }

    static PoolingStep load(ModelSettings settings) {
        return new PoolingStep(Steps.boolParameter(settings, "normalize", true));
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> wanted) {
        Tensor tokens = in.get(TOKENS);
        Tensor mask = in.get(MASK);
        int rows = (int) tokens.shape()[0];
        int seq = (int) tokens.shape()[1];
        int hidden = (int) tokens.shape()[2];
        FloatBuffer t = tokens.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        LongBuffer m = mask.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        ByteBuffer out = ByteBuffer.allocateDirect(rows * hidden * 4).order(ByteOrder.LITTLE_ENDIAN);
        float[] sum = new float[hidden];
        for (int r = 0; r < rows; r++) {
            java.util.Arrays.fill(sum, 0f);
            float count = 0;
            for (int p = 0; p < seq; p++) {
                long keep = m.get(r * seq + p);
                if (keep == 0) {
                    continue;
                }
                count += keep;
                int base = (r * seq + p) * hidden;
                for (int h = 0; h < hidden; h++) {
                    sum[h] += t.get(base + h) * keep;
                }
            }
            float denominator = Math.max(count, 1e-9f);
            double norm = 0;
            for (int h = 0; h < hidden; h++) {
                sum[h] /= denominator;
                norm += (double) sum[h] * sum[h];
            }
            float scale = normalize ? (float) (1 / Math.max(Math.sqrt(norm), 1e-12)) : 1f;
            for (int h = 0; h < hidden; h++) {
                out.putFloat(sum[h] * scale);
            }
        }
        out.flip();
        return Map.of(OUT, Tensor.ofBuffer(OUT, Datatype.FP32, new long[]{rows, hidden}, out));
    }

}
