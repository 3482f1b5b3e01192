package io.maas.maasctl;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ListVersionsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RoutingEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "list", description = "List models with their routing, or one model's versions.")
final class ListCommand extends RegistryCommand {

    @Parameters(index = "0", arity = "0..1", description = "Model whose versions to list.")
    String model;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        if (model == null) {
            out().printf("%-24s %-10s %-10s %-7s %s%n", "MODEL", "STABLE", "CANARY", "WEIGHT", "REVISION");
            String token = "";
            do {
                var page = stub.listModels(ListModelsRequest.newBuilder().setPageToken(token).build());
                for (var m : page.getModelsList()) {
                    var r = routing(stub, m.getName());
                    out().printf("%-24s %-10s %-10s %-7s %s%n", m.getName(), r == null ? "-" : r.getStableVersion(),
                            r == null || r.getCanaryVersion().isEmpty() ? "-" : r.getCanaryVersion(),
                            r == null ? "-" : r.getCanaryWeight() + "%", r == null ? "-" : r.getRevision());
                }
                token = page.getNextPageToken();
            } while (!token.isEmpty());
        } else {
            out().printf("%-10s %-10s %-8s %-24s %s%n", "VERSION", "STAGE", "FRAMEWORK", "CREATED", "ARTIFACT");
            String token = "";
            do {
                var page = stub.listVersions(ListVersionsRequest.newBuilder().setModel(model).setPageToken(token).build());
                for (var v : page.getVersionsList()) {
                    out().printf("%-10s %-10s %-8s %-24s %s%n", v.getVersion(), v.getStage(), v.getFramework(), time(v.getCreatedAtMs()),
                            v.getArtifactUri());
                }
                token = page.getNextPageToken();
            } while (!token.isEmpty());
        }
    }

    static RoutingEntry routing(ModelRegistryGrpc.ModelRegistryBlockingStub stub, String model) {
        try {
            return stub.getRouting(GetRoutingRequest.newBuilder().setModel(model).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }
}
