package io.maas.maasctl;

import io.maas.proto.registry.ListVersionsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.TensorSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.stream.Collectors;

@Command(name = "status", description = "Show a model's routing and versions.")
final class StatusCommand extends RegistryCommand {

    @Parameters(index = "0", description = "Model name.")
    String model;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        var r = ListCommand.routing(stub, model);
        out().println("model:    " + model);
        if (r == null) {
            out().println("routing:  none yet (maasctl set-weight " + model + " --stable <version>)");
        } else {
            out().println("routing:  stable " + r.getStableVersion()
                    + (r.getCanaryVersion().isEmpty() ? "" : ", canary " + r.getCanaryVersion() + " at " + r.getCanaryWeight() + "%"));
            out().println("revision: " + r.getRevision() + " (" + r.getSource() + " by " + r.getChangedBy() + " at " + time(r.getChangedAtMs())
                    + (r.getReason().isEmpty() ? "" : ": " + r.getReason()) + ")");
        }
        out().println("versions:");
        String token = "";
        do {
            var page = stub.listVersions(ListVersionsRequest.newBuilder().setModel(model).setPageToken(token).build());
            for (var v : page.getVersionsList()) {
                out().printf("  %-8s %-10s inputs %s%n", v.getVersion(), v.getStage(),
                        v.getInputsList().stream().map(StatusCommand::tensor).collect(Collectors.joining(" ")));
            }
            token = page.getNextPageToken();
        } while (!token.isEmpty());
    }

    private static String tensor(TensorSpec t) {
        return t.getName() + ":" + t.getDatatype() + t.getShapeList();
    }
}
