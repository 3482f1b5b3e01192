package io.maas.benchmarks;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Flags of the form {@code --name value} or {@code --name=value}, each falling back to an environment
 * variable and then a default; {@link #finish()} refuses leftovers so a typo is never silently ignored.
 */
final class Flags {
    private final Map<String, String> flags = new HashMap<>();
    private final Map<String, String> env;
    private final String usage;

    Flags(String[] args, Map<String, String> env, String usage) {
        this.env = env;
        this.usage = usage;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(usage);
                System.exit(0);
            }
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'\n" + usage);
            }
            String key = a.substring(2);
            int eq = key.indexOf('=');
            if (eq >= 0) {
                flags.put(key.substring(0, eq), key.substring(eq + 1));
            } else if (i + 1 < args.length) {
                flags.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("flag --" + key + " needs a value");
            }
        }
    }

    String get(String flag, String envName, String dflt) {
        String v = flags.remove(flag);
        if (v != null) {
            return v;
        }
        v = env.get(envName);
        return v != null && !v.isBlank() ? v : dflt;
    }

    int integer(String flag, String envName, int dflt) {
        return Integer.parseInt(get(flag, envName, Integer.toString(dflt)));
    }

    double decimal(String flag, String envName, double dflt) {
        return Double.parseDouble(get(flag, envName, Double.toString(dflt)));
    }

    List<String> list(String flag, String envName, String dflt) {
        return Arrays.stream(get(flag, envName, dflt).split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    void finish() {
        if (!flags.isEmpty()) {
            throw new IllegalArgumentException("unknown flag(s) " + flags.keySet() + "\n" + usage);
        }
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
