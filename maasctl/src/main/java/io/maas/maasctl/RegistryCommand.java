package io.maas.maasctl;

import io.maas.proto.registry.ModelRegistryGrpc;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;

/** Base of commands that talk to the registry: connection handling and output helpers. */
abstract class RegistryCommand implements Callable<Integer> {

    @Mixin
    RegistryOptions registry;

    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() {
        try (var connection = registry.connect()) {
            run(connection.stub());
        }
        return 0;
    }

    abstract void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub);

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    static String time(long epochMillis) {
        return epochMillis == 0 ? "-" : Instant.ofEpochMilli(epochMillis).toString();
    }
}
