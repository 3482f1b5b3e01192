package io.maas.maasctl;

import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.SetRoutingRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "set-weight", description = "Set a model's routing: stable version, canary version and canary weight.")
final class SetWeightCommand extends RegistryCommand {

    @Parameters(index = "0", description = "Model name.")
    String model;

    @Parameters(index = "1", arity = "0..1", description = "Canary weight 0-100 (percent of requests).")
    Integer weight;

    @Option(names = "--stable", description = "Stable version (default: keep the current one).")
    String stable;

    @Option(names = "--canary", description = "Canary version (default: keep the current one; \"\" for none).")
    String canary;

    @Option(names = "--force", description = "Route to a canary whose input signature differs from the stable's.")
    boolean force;

    @Option(names = "--reason", defaultValue = "", description = "Why; recorded in the audit log.")
    String reason;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        var current = ListCommand.routing(stub, model);
        var request = SetRoutingRequest.newBuilder().setModel(model)
                .setStableVersion(stable != null ? stable : current == null ? "" : current.getStableVersion())
                .setCanaryVersion(canary != null ? canary : current == null ? "" : current.getCanaryVersion())
                .setCanaryWeight(weight != null ? weight : current == null ? 0 : current.getCanaryWeight())
                .setForce(force).setReason(reason)
                // Refuse to overwrite a change made since we read the routing.
                .setExpectedRevision(current == null ? 0 : current.getRevision());
        var r = stub.setRouting(request.build());
        out().printf("%s: stable %s%s (revision %d)%n", r.getModel(), r.getStableVersion(),
                r.getCanaryVersion().isEmpty() ? "" : ", canary " + r.getCanaryVersion() + " at " + r.getCanaryWeight() + "%", r.getRevision());
    }
}
