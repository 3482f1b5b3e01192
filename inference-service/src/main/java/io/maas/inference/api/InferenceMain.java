package io.maas.inference.api;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Starts the service like {@code tritonserver}: {@code --model-repository DIR}, plus
 * {@code --grpc-port} and {@code --http-port}. Flags win over MAAS_* environment variables.
 */
@QuarkusMain
public class InferenceMain {
    private static final String USAGE = """
            usage: java -jar quarkus-run.jar --model-repository DIR [--grpc-port N] [--http-port N]
              --model-repository DIR  Triton-style repository: DIR/<model>/<version>/model.onnx (env MAAS_MODEL_REPOSITORY)
              --grpc-port N           Open Inference Protocol gRPC port, default 8001 (env MAAS_GRPC_PORT)
              --http-port N           REST, health and /metrics port, default 8000 (env MAAS_HTTP_PORT)
            """;

    public static void main(String... args) {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            } else if (i + 1 < args.length && !arg.equals("--help") && !arg.equals("-h")) {
                value = args[++i];
            }
            String key = switch (arg) {
                case "--model-repository" -> "maas.model-repository";
                case "--grpc-port" -> "quarkus.grpc.server.port";
                case "--http-port" -> "quarkus.http.port";
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                    yield null;
                }
                default -> null;
            };
            if (key == null || value == null) {
                System.err.println("unknown or incomplete argument: " + args[Math.min(i, args.length - 1)]);
                System.err.print(USAGE);
                System.exit(2);
            }
            System.setProperty(key, value);
        }
        Quarkus.run(args);
    }
}
