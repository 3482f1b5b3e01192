package io.maas.maasctl;

import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RollbackRoutingRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "rollback", description = "Restore a model's previous routing (or the one set at --to-revision).")
final class RollbackCommand extends RegistryCommand {

    @Parameters(index = "0", description = "Model name.")
    String model;

    @Option(names = "--to-revision", defaultValue = "0", description = "Revision to restore (default: the one before the current).")
    long toRevision;

    @Option(names = "--reason", defaultValue = "", description = "Why; recorded in the audit log.")
    String reason;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        var r = stub.rollbackRouting(RollbackRoutingRequest.newBuilder().setModel(model).setToRevision(toRevision).setReason(reason).build());
        out().printf("%s: rolled back to stable %s%s (revision %d)%n", r.getModel(), r.getStableVersion(),
                r.getCanaryVersion().isEmpty() ? "" : ", canary " + r.getCanaryVersion() + " at " + r.getCanaryWeight() + "%", r.getRevision());
    }
}
