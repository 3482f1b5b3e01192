package io.maas.maasctl;

import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.SetStageRequest;
import io.maas.proto.registry.Stage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "promote", description = "Make the canary the stable version (canary cleared, weight 0).")
final class PromoteCommand extends RegistryCommand {

    @Parameters(index = "0", description = "Model name.")
    String model;

    @Option(names = "--reason", defaultValue = "promote canary", description = "Why; recorded in the audit log.")
    String reason;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        var current = ListCommand.routing(stub, model);
        if (current == null || current.getCanaryVersion().isEmpty()) {
            throw new IllegalArgumentException("model " + model + " has no canary to promote");
        }
        String promoted = current.getCanaryVersion();
        var r = stub.setRouting(SetRoutingRequest.newBuilder().setModel(model).setStableVersion(promoted).setCanaryWeight(0)
                .setReason(reason).setExpectedRevision(current.getRevision()).build());
        stub.setStage(SetStageRequest.newBuilder().setModel(model).setVersion(promoted).setStage(Stage.STABLE).setReason(reason).build());
        out().printf("%s: version %s promoted to stable (was %s; revision %d)%n", model, promoted, current.getStableVersion(), r.getRevision());
    }
}
