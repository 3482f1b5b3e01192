package io.maas.registry.domain;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Input checks shared by the API and the declared-routing path; messages say what to fix. */
public final class Validation {

    // Names end up in URLs, file paths (<repo>/<model>/<version>) and Kubernetes labels.
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern VERSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,127}");
    static final Set<String> DATATYPES = Set.of("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
            "INT32", "INT64", "FP16", "FP32", "FP64", "BF16", "BYTES");

    private Validation() {
    }

    public static void modelName(String name) {
        if (name == null || name.isEmpty()) {
            throw RegistryException.invalid("model name is required");
        }
        if (!MODEL_NAME.matcher(name).matches()) {
            throw RegistryException.invalid("model name '" + name
                    + "' is invalid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    public static void versionName(String version) {
        if (version == null || version.isEmpty()) {
            throw RegistryException.invalid("version is required (e.g. \"1\")");
        }
        if (!VERSION_NAME.matcher(version).matches()) {
            throw RegistryException.invalid("version '" + version
                    + "' is invalid: use 1-64 letters, digits, '.', '_' or '-' (e.g. \"1\")");
        }
    }

    public static void artifact(String uri, String sha256) {
        if (uri == null || uri.isBlank()) {
            throw RegistryException.invalid("artifact_uri is required (e.g. file:///models/minilm/1/model.onnx)");
        }
        if (sha256 == null || !SHA256.matcher(sha256).matches()) {
            throw RegistryException.invalid("sha256 must be the artifact's SHA-256 as 64 lowercase hex characters, got '"
                    + sha256 + "'");
        }
    }

    public static void labels(Map<String, String> labels) {
        for (var key : labels.keySet()) {
            if (!LABEL_KEY.matcher(key).matches()) {
                throw RegistryException.invalid("label key '" + key + "' is invalid: use 1-128 letters, digits, '.', '_', '/' or '-'");
            }
        }
    }

    /** A signature: at least one input, unique names, v2 datatypes, dims >= 1 or -1 for variable. */
    public static void signature(String what, List<TensorSpec> tensors, boolean required) {
        if (required && tensors.isEmpty()) {
            throw RegistryException.invalid(what + " signature is empty: list each tensor's name, datatype and shape");
        }
        Set<String> seen = new HashSet<>();
        for (var t : tensors) {
            if (t.name() == null || t.name().isBlank()) {
                throw RegistryException.invalid(what + " tensor without a name");
            }
            if (!seen.add(t.name())) {
                throw RegistryException.invalid(what + " tensor '" + t.name() + "' is listed twice");
            }
            if (!DATATYPES.contains(t.datatype())) {
                throw RegistryException.invalid(what + " tensor '" + t.name() + "' has datatype '" + t.datatype()
                        + "': use an Open Inference Protocol datatype, one of " + new java.util.TreeSet<>(DATATYPES));
            }
            if (t.shape().isEmpty()) {
                throw RegistryException.invalid(what + " tensor '" + t.name() + "' has no shape: give its dims, -1 for variable ones");
            }
            for (long d : t.shape()) {
                if (d == 0 || d < -1) {
                    throw RegistryException.invalid(what + " tensor '" + t.name() + "' has dim " + d
                            + " in shape " + t.shape() + ": dims are >= 1, or -1 for a variable dim");
                }
            }
        }
    }

    public static void routing(RoutingSpec spec) {
        modelName(spec.model());
        if (spec.stable() == null || spec.stable().isEmpty()) {
            throw RegistryException.invalid("stable_version is required: routing always has a stable version");
        }
        versionName(spec.stable());
        if (spec.canaryWeight() < 0 || spec.canaryWeight() > 100) {
            throw RegistryException.invalid("canary_weight " + spec.canaryWeight() + " is out of range: use 0-100 (percent of requests)");
        }
        if (spec.hasCanary()) {
            versionName(spec.canary());
            if (spec.canary().equals(spec.stable())) {
                throw RegistryException.invalid("canary_version equals stable_version '" + spec.stable()
                        + "': leave canary_version empty for no canary");
            }
        } else if (spec.canaryWeight() != 0) {
            throw RegistryException.invalid("canary_weight is " + spec.canaryWeight()
                    + " but no canary_version is set: name a canary or use weight 0");
        }
    }
}
