package io.maas.router.domain;

/** A model version, the unit endpoints are grouped by. */
public record ModelKey(String model, String version) {
    @Override
    public String toString() {
        return model + ":" + version;
    }
}
