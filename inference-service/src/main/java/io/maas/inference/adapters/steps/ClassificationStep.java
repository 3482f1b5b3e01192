package io.maas.inference.adapters.steps;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.maas.inference.domain.Classification;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.Labels;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.Shapes;
import io.maas.inference.domain.Tensor;
import io.maas.inference.domain.TensorSpec;

/**
 * The built-in {@code classification} backend: a classifier's scores [rows, classes] in, the top_k
 * labels (BYTES) and their probabilities (FP32, softmax over all classes unless {@code softmax:
 * "false"}) out, best first. Labels come from the model folder's label_filename (one per line).
 */
final class ClassificationStep extends BuiltInStep {
    static final String SCORES = "scores";
    static final String LABEL = "label";
    static final String SCORE = "score";

    private final List<String> labels;
    private final int topK;
    private final boolean softmax;

    private ClassificationStep(List<String> labels, int topK, boolean softmax) {
        super(List.of(new TensorSpec(SCORES, Datatype.FP32, new long[]{-1, labels.size()})),
                List.of(new TensorSpec(LABEL, Datatype.BYTES, new long[]{-1, topK}),
                        new TensorSpec(SCORE, Datatype.FP32, new long[]{-1, topK})));
        this.labels = labels;
        this.topK = topK;
        this.softmax = softmax;
    }

    static ClassificationStep load(Path modelDir, ModelSettings settings) {
        String file = settings.parameter("label_filename", "");
        if (file.isEmpty() || file.contains("/") || file.contains("..")) {
            throw InferenceException.unavailable("classification needs parameter label_filename, a plain file name"
                    + " in the model folder with one label per line");
        }
        List<String> labels = Labels.read(modelDir.resolve(file), "classification model "
                + modelDir.getFileName());
        return new ClassificationStep(labels, Math.min(Steps.intParameter(settings, "top_k", 1), labels.size()),
                Steps.boolParameter(settings, "softmax", true));
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> wanted) {
        Tensor scores = in.get(SCORES);
        int rows = (int) scores.shape()[0];
        int classes = (int) scores.shape()[1];
        if (classes != labels.size()) {
            throw new InferenceException(InferenceException.Kind.INTERNAL, "scores have " + classes
                    + " classes (shape " + Shapes.format(scores.shape()) + ") but the labels file has " + labels.size()
                    + " labels");
        }
        double[] v = Classification.Numbers.toDoubles(scores);
        byte[][] names = new byte[rows * topK][];
        ByteBuffer probabilities = ByteBuffer.allocateDirect(rows * topK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            int from = r * classes;
            if (softmax) {
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < classes; c++) {
                    max = Math.max(max, v[from + c]);
                }
                double sum = 0;
                for (int c = 0; c < classes; c++) {
                    v[from + c] = Math.exp(v[from + c] - max);
                    sum += v[from + c];
                }
                for (int c = 0; c < classes; c++) {
                    v[from + c] /= sum;
                }
            }
            int[] top = Classification.Numbers.topIndices(v, from, classes, topK);
            for (int j = 0; j < topK; j++) {
                names[r * topK + j] = labels.get(top[j]).getBytes(StandardCharsets.UTF_8);
                probabilities.putFloat((float) v[from + top[j]]);
            }
        }
        probabilities.flip();
        Map<String, Tensor> out = new HashMap<>();
        out.put(LABEL, Tensor.ofStrings(LABEL, new long[]{rows, topK}, names));
        out.put(SCORE, Tensor.ofBuffer(SCORE, Datatype.FP32, new long[]{rows, topK}, probabilities));
        return out;
    }

}
