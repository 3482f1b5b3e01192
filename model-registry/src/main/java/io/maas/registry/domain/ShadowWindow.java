package io.maas.registry.domain;

/** Shadow comparisons of the candidate against stable over a rollout step, from every router. */
public record ShadowWindow(long compared, double cosineSum, double cosineMin, double maxAbsDiff) {

    public static final ShadowWindow EMPTY = new ShadowWindow(0, 0, 1, 0);

    public ShadowWindow plus(ShadowWindow other) {
        if (other.compared == 0) {
            return this;
        }
        if (compared == 0) {
            return other;
        }
        return new ShadowWindow(compared + other.compared, cosineSum + other.cosineSum, Math.min(cosineMin, other.cosineMin),
                Math.max(maxAbsDiff, other.maxAbsDiff));
    }

    public double meanCosine() {
        return compared == 0 ? 1 : cosineSum / compared;
    }
}
