package io.maas.registry.domain;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Whether a canary accepts every request the stable version accepts: the same input names and
 * datatypes, the same rank, and each dim either equal or variable (-1) in the canary. A canary
 * that fixes a dim the stable leaves variable is refused, since some valid requests would fail.
 */
public final class SignatureCompatibility {

    private SignatureCompatibility() {
    }

    /** The first incompatibility found, described so an operator can act on it; empty if compatible. */
    public static Optional<String> problem(List<TensorSpec> stableInputs, List<TensorSpec> canaryInputs) {
        Map<String, TensorSpec> canary = canaryInputs.stream().collect(Collectors.toMap(TensorSpec::name, Function.identity()));
        Map<String, TensorSpec> stable = stableInputs.stream().collect(Collectors.toMap(TensorSpec::name, Function.identity()));
        for (var s : stableInputs) {
            var c = canary.get(s.name());
            if (c == null) {
                return Optional.of("canary has no input '" + s.name() + "'");
            }
            if (!c.datatype().equals(s.datatype())) {
                return Optional.of("input '" + s.name() + "' is " + s.datatype() + " in stable but " + c.datatype() + " in canary");
            }
            if (c.shape().size() != s.shape().size()) {
                return Optional.of("input '" + s.name() + "' has shape " + s.shape() + " in stable but " + c.shape() + " in canary");
            }
            for (int i = 0; i < s.shape().size(); i++) {
                long sd = s.shape().get(i);
                long cd = c.shape().get(i);
                if (cd != -1 && cd != sd) {
                    return Optional.of("input '" + s.name() + "' has shape " + s.shape() + " in stable but " + c.shape()
                            + " in canary (dim " + i + ")");
                }
            }
        }
        for (var c : canaryInputs) {
            if (!stable.containsKey(c.name())) {
                return Optional.of("canary expects input '" + c.name() + "' that stable clients do not send");
            }
        }
        return Optional.empty();
    }
}
