package io.maas.inference.api;

import java.util.List;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Server name, version and supported protocol extensions, as ServerMetadata reports them. */
@Singleton
public class ServerInfo {
    static final List<String> EXTENSIONS = List.of("model_repository", "model_configuration", "binary_tensor_data");

    @ConfigProperty(name = "quarkus.application.name")
    String name;
    @ConfigProperty(name = "quarkus.application.version")
    String version;

    public String name() {
        return name;
    }

    public String version() {
        return version;
    }
}
