package io.maas.registry.adapters;

import io.maas.registry.domain.RegistryException;
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
    private static final Set<String> KEYS = Set.of("name", "stable", "canary", "weight");

    private DeclaredRoutingDocument() {
    }

    public static List<RoutingSpec> parse(String yaml, String origin) {
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
        List<RoutingSpec> specs = new ArrayList<>();
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
            specs.add(new RoutingSpec(name, stable, scalar(item.get("canary")), w));
        }
        return specs;
    }

    // Versions are often written unquoted (stable: 1): accept numbers as version names.
    private static String scalar(Object value) {
        return value == null ? "" : String.valueOf(value).trim();
    }
}
