package io.maas.maasctl;

import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "audit", description = "Show the audit log, newest first.")
final class AuditCommand extends RegistryCommand {

    @Parameters(index = "0", arity = "0..1", description = "Only this model.")
    String model;

    @Option(names = "--limit", defaultValue = "20", description = "Records to show (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--json", description = "Also print each record's before/after JSON.")
    boolean json;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        var page = stub.listAudit(ListAuditRequest.newBuilder().setModel(model == null ? "" : model).setPageSize(limit).build());
        out().printf("%-6s %-24s %-16s %-16s %-12s %-8s %s%n", "ID", "WHEN", "ACTOR", "ACTION", "MODEL", "SOURCE", "REASON");
        for (var a : page.getRecordsList()) {
            out().printf("%-6d %-24s %-16s %-16s %-12s %-8s %s%n", a.getId(), time(a.getAtMs()), a.getActor(), a.getAction(),
                    a.getModel() + (a.getVersion().isEmpty() ? "" : "/" + a.getVersion()), a.getSource(), a.getReason());
            if (json) {
                out().println("       before: " + (a.getBeforeJson().isEmpty() ? "-" : a.getBeforeJson()));
                out().println("       after:  " + a.getAfterJson());
            }
        }
    }
}
