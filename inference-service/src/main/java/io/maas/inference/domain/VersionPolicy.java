package io.maas.inference.domain;

import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** Which of the versions found in a model's folder are served (Triton's version_policy). */
public sealed interface VersionPolicy {

    List<Long> select(List<Long> available);

    /** Every version in the folder. */
    record All() implements VersionPolicy {
        @Override
        public List<Long> select(List<Long> available) {
            return available.stream().sorted().toList();
        }
    }

    /** The {@code count} highest versions; Triton's default is latest 1. */
    record Latest(int count) implements VersionPolicy {
        @Override
        public List<Long> select(List<Long> available) {
            return available.stream().sorted(Comparator.reverseOrder()).limit(count).sorted().toList();
        }
    }

    /** Exactly the listed versions that exist. */
    record Specific(Set<Long> versions) implements VersionPolicy {
        @Override
        public List<Long> select(List<Long> available) {
            return available.stream().filter(versions::contains).sorted().toList();
        }
    }
}
