package io.maas.inference.adapters.steps;

import java.nio.file.Path;

import io.maas.inference.adapters.config.PbtxtModelConfigReader;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelLoader;
import io.maas.inference.domain.ModelRepository;
import io.maas.inference.domain.ModelRunner;
import io.maas.inference.domain.ModelSettings;

/**
 * Loads models by platform: ONNX files through the ONNX Runtime loader, the built-in processing
 * steps ({@code backend: "tokenizer" | "pooling" | "classification" | "zero_shot"}) here.
 */
public final class Steps implements ModelLoader {
    private final ModelLoader onnx;

    public Steps(ModelLoader onnx) {
        this.onnx = onnx;
    }

    @Override
    public ModelRunner load(Path modelFile, ModelSettings settings) {
        return load(modelFile, settings, null);
    }

    @Override
    public ModelRunner load(Path modelFile, ModelSettings settings, ModelRepository models) {
        return switch (settings.platform()) {
            case "zero_shot" -> ZeroShotStep.load(modelFile.getParent().getParent(), settings, models);
            case ModelSettings.ONNX -> onnx.load(modelFile, settings);
            case "tokenizer" -> TokenizerStep.load(modelFile, settings);
            case "pooling" -> PoolingStep.load(settings);
            case "classification" -> ClassificationStep.load(modelFile.getParent().getParent(), settings);
            default -> throw InferenceException.unavailable("no loader for platform/backend '" + settings.platform()
                    + "'; built-in backends are " + PbtxtModelConfigReader.BUILT_IN_BACKENDS);
        };
    }

    static int intParameter(ModelSettings settings, String key, int defaultValue) {
        String v = settings.parameter(key, Integer.toString(defaultValue));
        try {
            int n = Integer.parseInt(v);
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw InferenceException.unavailable("parameter " + key + " is '" + v + "'; it must be a positive integer");
        }
    }

    static boolean boolParameter(ModelSettings settings, String key, boolean defaultValue) {
        String v = settings.parameter(key, Boolean.toString(defaultValue));
        if (!v.equals("true") && !v.equals("false")) {
            throw InferenceException.unavailable("parameter " + key + " is '" + v + "'; use \"true\" or \"false\"");
        }
        return Boolean.parseBoolean(v);
    }
}
