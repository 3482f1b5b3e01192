package io.maas.inference.adapters.steps;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelRepository;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.ModelVersion;
import io.maas.inference.domain.Tensor;
import io.maas.inference.domain.TensorSpec;

/**
 * The built-in {@code zero_shot} backend: a text classifier without training. Each label comes with a
 * description (label_filename: "label TAB description" per line); at load the descriptions are
 * embedded once by the embedding_model of the repository (e.g. minilm-embed); a call's embedding
 * [rows, dims] is scored against them: cosine similarity times scale, [rows, labels]. A
 * classification step turns the scores into probabilities and labels.
 */
final class ZeroShotStep extends BuiltInStep {
    static final String IN = "embedding";
    static final String OUT = "scores";

    private final float[][] prototypes;
    private final float scale;
    private final int dims;

    private ZeroShotStep(float[][] prototypes, float scale) {
        super(List.of(new TensorSpec(IN, Datatype.FP32, new long[]{-1, prototypes[0].length})),
                List.of(new TensorSpec(OUT, Datatype.FP32, new long[]{-1, prototypes.length})));
        this.prototypes = prototypes;
        this.scale = scale;
        this.dims = prototypes[0].length;
    }

    static ZeroShotStep load(Path modelDir, ModelSettings settings, ModelRepository models) {
        String embedder = settings.parameter("embedding_model", "");
        if (embedder.isEmpty()) {
            throw InferenceException.unavailable("zero_shot needs parameter embedding_model, the model of this"
                    + " repository that embeds a text (e.g. minilm-embed)");
        }
        String file = settings.parameter("label_filename", "");
        if (file.isEmpty() || file.contains("/") || file.contains("..")) {
            throw InferenceException.unavailable("zero_shot needs parameter label_filename, a plain file name in the"
                    + " model folder with one 'label TAB description' per line");
        }
        float scale;
        try {
            scale = Float.parseFloat(settings.parameter("scale", "1"));
        } catch (NumberFormatException e) {
            throw InferenceException.unavailable("zero_shot parameter scale is '" + settings.parameter("scale", "")
                    + "'; it must be a number");
        }
        List<String> descriptions = descriptions(modelDir.resolve(file));
        ModelVersion v;
        try {
            v = models.resolve(embedder, "");
        } catch (InferenceException e) {
            throw InferenceException.unavailable("zero_shot: embedding_model '" + embedder + "' is not ready: "
                    + e.getMessage());
        }
        if (v.runner().inputs().size() != 1 || v.runner().inputs().get(0).datatype() != Datatype.BYTES
                || v.runner().outputs().size() != 1 || v.runner().outputs().get(0).datatype() != Datatype.FP32) {
            throw InferenceException.unavailable("zero_shot: embedding_model '" + embedder + "' must take one BYTES"
                    + " input (text) and give one FP32 output (embedding)");
        }
        TensorSpec in = v.runner().inputs().get(0);
        String out = v.runner().outputs().get(0).name();
        float[][] prototypes = new float[descriptions.size()][];
        for (int i = 0; i < prototypes.length; i++) {
            long[] shape = in.shape().length == 2 ? new long[]{1, 1} : new long[]{1};
            Tensor text = Tensor.ofStrings(in.name(), shape,
                    new byte[][]{descriptions.get(i).getBytes(StandardCharsets.UTF_8)});
            Tensor e = v.runner().run(Map.of(in.name(), text), Set.of(out)).get(out);
            prototypes[i] = normalized(e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        }
        return new ZeroShotStep(prototypes, scale);
    }

    /** The descriptions of a "label TAB description" file, in line order. */
    private static List<String> descriptions(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        } catch (NoSuchFileException e) {
            throw InferenceException.unavailable("labels file " + file + " does not exist");
        } catch (IOException e) {
            throw InferenceException.unavailable("labels file " + file + " cannot be read: " + e.getMessage());
        }
        List<String> descriptions = new ArrayList<>();
        for (String line : lines) {
            int tab = line.indexOf('\t');
            if (tab <= 0 || line.substring(tab + 1).isBlank()) {
                throw InferenceException.unavailable("labels file " + file + " line '" + line + "' is not"
                        + " 'label TAB description'");
            }
            descriptions.add(line.substring(tab + 1).strip());
        }
        if (descriptions.isEmpty()) {
            throw InferenceException.unavailable("labels file " + file + " is empty");
        }
        return descriptions;
    }

    private static float[] normalized(FloatBuffer b) {
        float[] v = new float[b.remaining()];
        b.get(v);
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
        for (int i = 0; i < v.length; i++) {
            v[i] *= inv;
        }
        return v;
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> wanted) {
        Tensor e = inputs.get(IN);
        int rows = (int) e.shape()[0];
        if (e.shape()[1] != dims) {
            throw InferenceException.invalid("embedding has " + e.shape()[1] + " dimensions; the label"
                    + " descriptions have " + dims);
        }
        FloatBuffer in = e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        ByteBuffer out = ByteBuffer.allocateDirect(rows * prototypes.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[dims];
        for (int r = 0; r < rows; r++) {
            in.get(row);
            double norm = 0;
            for (float x : row) {
                norm += (double) x * x;
            }
            double inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
            for (float[] p : prototypes) {
                double dot = 0;
                for (int d = 0; d < dims; d++) {
                    dot += (double) row[d] * p[d];
                }
                out.putFloat((float) (dot * inv * scale));
            }
        }
        out.flip();
        return Map.of(OUT, Tensor.ofBuffer(OUT, Datatype.FP32, new long[]{rows, prototypes.length}, out));
    }

}
