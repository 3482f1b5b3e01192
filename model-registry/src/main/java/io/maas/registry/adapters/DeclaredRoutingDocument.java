package io.maas.registry.adapters;

import io.maas.registry.domain.DeclaredModel;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.RolloutGates;
import io.maas.registry.domain.RolloutPlan;
import io.maas.registry.domain.RolloutStep;
import io.maas.registry.domain.RoutingSpec;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the declared routing document (ConfigMap key {@code routing.yaml}, or a local file):
 * <pre>
 * models:
 *   - name: minilm
 *     stable: "1"
 *     canary: "2"   # optional
 *     weight: 10    # canary weight 0-100, default 0
 * </pre>
 * A malformed document is refused whole, so a typo never applies half a declaration.
 */
public final class DeclaredRoutingDocument {

    private static final System.Logger LOG = System.getLogger(DeclaredRoutingDocument.class.getName());
    private static final Set<String> KEYS = Set.of("name", "stable", "canary", "weight", "rollout");
    private static final Set<String> ROLLOUT_KEYS = Set.of("steps", "analysis");
    private static final Set<String> STEP_KEYS = Set.of("weight", "hold", "pause");
    private static final Set<String> ANALYSIS_KEYS = Set.of("minCalls", "maxErrorRateDelta", "maxP99Ms", "maxP99Ratio", "shadow");
    private static final Set<String> SHADOW_KEYS = Set.of("minCosine", "maxAbsDiff", "minCompared");

    private DeclaredRoutingDocument() {
    }

    public static List<RoutingSpec> parse(String yaml, String origin) {
        return parseModels(yaml, origin).stream().map(DeclaredModel::routing).toList();
    }

    /** The document's models with their rollouts (see docs/rollouts.md for the rollout block). */
    public static List<DeclaredModel> parseModels(String yaml, String origin) {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (RuntimeException e) {
            throw RegistryException.invalid(origin + ": not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            return List.of();
        }
        if (!(root instanceof Map<?, ?> top)) {
            throw RegistryException.invalid(origin + ": expected a mapping with key 'models'");
        }
        Object models = top.get("models");
        if (models == null) {
            return List.of();
        }
        if (!(models instanceof List<?> list)) {
            throw RegistryException.invalid(origin + ": 'models' must be a list of {name, stable, canary, weight}");
        }
        List<DeclaredModel> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> item)) {
                throw RegistryException.invalid(origin + ": models[" + i + "] must be a mapping with name, stable, canary, weight");
            }
            for (var key : item.keySet()) {
                if (!KEYS.contains(String.valueOf(key))) {
                    // Tolerated so a newer chart does not break an older registry; but visible.
                    LOG.log(System.Logger.Level.WARNING, "{0}: models[{1}] has unknown key ''{2}'' (ignored); known keys: {3}",
                            origin, i, key, KEYS);
                }
            }
            String name = scalar(item.get("name"));
            if (name.isEmpty()) {
                throw RegistryException.invalid(origin + ": models[" + i + "] has no name");
            }
            if (!names.add(name)) {
                throw RegistryException.invalid(origin + ": model '" + name + "' is declared twice");
            }
            String stable = scalar(item.get("stable"));
            if (stable.isEmpty()) {
                throw RegistryException.invalid(origin + ": model '" + name + "' has no stable version");
            }
            Object weight = item.get("weight");
            int w;
            if (weight == null) {
                w = 0;
            } else if (weight instanceof Integer n) {
                w = n;
            } else {
                throw RegistryException.invalid(origin + ": model '" + name + "' has weight '" + weight + "': use an integer 0-100");
            }
            RolloutPlan plan = item.get("rollout") == null ? null : rollout(item.get("rollout"), origin + ": model '" + name + "' rollout");
            if (plan != null) {
                if (scalar(item.get("canary")).isEmpty()) {
                    throw RegistryException.invalid(origin + ": model '" + name + "' declares a rollout without a canary: set canary to the candidate version");
                }
                // The rollout steers the weight; the first step's is the one declared.
                w = plan.weightAt(0);
            }
            specs.add(new DeclaredModel(new RoutingSpec(name, stable, scalar(item.get("canary")), w), plan));
        }
        return specs;
    }

    private static RolloutPlan rollout(Object value, String where) {
        Map<?, ?> m = mapping(value, where, ROLLOUT_KEYS);
        if (!(m.get("steps") instanceof List<?> steps) || steps.isEmpty()) {
            throw RegistryException.invalid(where + ": 'steps' must be a non-empty list of {weight, hold} or {pause: true}");
        }
        List<RolloutStep> parsed = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            String at = where + " steps[" + i + "]";
            Map<?, ?> s = mapping(steps.get(i), at, STEP_KEYS);
            boolean pause = Boolean.TRUE.equals(s.get("pause"));
            if (s.get("pause") != null && !(s.get("pause") instanceof Boolean)) {
                throw RegistryException.invalid(at + ": pause must be true or false");
            }
            int previous = parsed.isEmpty() ? 0 : parsed.get(parsed.size() - 1).weight();
            int weight;
            if (s.get("weight") == null) {
                if (!pause) {
                    throw RegistryException.invalid(at + ": a step needs a weight (0-100), or pause: true");
                }
                weight = previous;
            } else if (s.get("weight") instanceof Integer n && n >= 0 && n <= 100) {
                weight = n;
            } else {
                throw RegistryException.invalid(at + ": weight '" + s.get("weight") + "' must be an integer 0-100");
            }
            long hold = s.get("hold") == null ? 0 : seconds(s.get("hold"), at + " hold");
            if (!pause && s.get("hold") == null) {
                throw RegistryException.invalid(at + ": a step needs a hold (e.g. 30s, 5m, 1h)");
            }
            parsed.add(new RolloutStep(weight, hold, pause));
        }
        Map<?, ?> a = m.get("analysis") == null ? Map.of() : mapping(m.get("analysis"), where + " analysis", ANALYSIS_KEYS);
        Map<?, ?> sh = a.get("shadow") == null ? Map.of() : mapping(a.get("shadow"), where + " analysis.shadow", SHADOW_KEYS);
        var gates = new RolloutGates(count(a.get("minCalls"), where + " analysis.minCalls", 20),
                number(a.get("maxErrorRateDelta"), where + " analysis.maxErrorRateDelta", 0, 1),
                number(a.get("maxP99Ms"), where + " analysis.maxP99Ms", 0, Double.MAX_VALUE),
                number(a.get("maxP99Ratio"), where + " analysis.maxP99Ratio", 0, Double.MAX_VALUE),
                number(sh.get("minCosine"), where + " analysis.shadow.minCosine", -1, 1),
                number(sh.get("maxAbsDiff"), where + " analysis.shadow.maxAbsDiff", 0, Double.MAX_VALUE),
                count(sh.get("minCompared"), where + " analysis.shadow.minCompared", 0));
        return new RolloutPlan(parsed, gates);
    }

    private static Map<?, ?> mapping(Object value, String where, Set<String> keys) {
        if (!(value instanceof Map<?, ?> m)) {
            throw RegistryException.invalid(where + " must be a mapping with keys " + keys);
        }
        for (var key : m.keySet()) {
            if (!keys.contains(String.valueOf(key))) {
                // Inside a rollout a typo would silently drop a gate: refuse it.
                throw RegistryException.invalid(where + " has unknown key '" + key + "'; known keys: " + keys);
            }
        }
        return m;
    }

    /** Seconds from an integer (seconds) or a duration such as 30s, 5m, 1h. */
    static long seconds(Object value, String where) {
        if (value instanceof Integer n && n >= 0) {
            return n;
        }
        String s = String.valueOf(value).trim();
        var matcher = java.util.regex.Pattern.compile("(\\d+)(s|m|h)").matcher(s);
        if (!matcher.matches()) {
            throw RegistryException.invalid(where + ": '" + value + "' is not a duration: use e.g. 30s, 5m, 1h or a number of seconds");
        }
        long n = Long.parseLong(matcher.group(1));
        return switch (matcher.group(2)) {
            case "m" -> n * 60;
            case "h" -> n * 3600;
            default -> n;
        };
    }

    private static long count(Object value, String where, long fallback) {
        if (value == null) {
            return fallback;
        }
        if (value instanceof Integer n && n >= 0) {
            return n;
        }
        throw RegistryException.invalid(where + ": '" + value + "' must be a non-negative integer");
    }

    private static Double number(Object value, String where, double min, double max) {
        if (value == null) {
            return null;
        }
        if (value instanceof Number n && n.doubleValue() >= min && n.doubleValue() <= max) {
            return n.doubleValue();
        }
        throw RegistryException.invalid(where + ": '" + value + "' must be a number from " + min + " to " + (max == Double.MAX_VALUE ? "any" : max));
    }

    // Versions are often written unquoted (stable: 1): accept numbers as version names.
    private static String scalar(Object value) {
        return value == null ? "" : String.valueOf(value).trim();
    }
}
