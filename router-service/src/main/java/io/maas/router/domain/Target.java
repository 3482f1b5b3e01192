package io.maas.router.domain;

/**
 * Where a call goes: the chosen version of the model and the track it plays.
 *
 * @param route the model's routing when the choice was made (null without routing)
 */
public record Target(ModelKey key, String track, Route route) {
}
