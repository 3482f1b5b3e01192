package io.maas.registry.api;

import io.maas.proto.registry.AuditRecord;
import io.maas.proto.registry.Model;
import io.maas.proto.registry.ModelVersion;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.RoutingSource;
import io.maas.proto.registry.Stage;
import io.maas.proto.registry.TensorSpec;
import io.maas.registry.domain.RegistryException;

import java.util.List;

/** Converts between the wire messages and the domain records. */
final class ProtoMapper {

    private ProtoMapper() {
    }

    static Model model(io.maas.registry.domain.Model m) {
        return Model.newBuilder().setName(m.name()).setDescription(m.description()).putAllLabels(m.labels())
                .setCreatedAtMs(m.createdAtMs()).setCreatedBy(m.createdBy()).build();
    }

    static ModelVersion version(io.maas.registry.domain.ModelVersion v) {
        return ModelVersion.newBuilder().setModel(v.model()).setVersion(v.version()).setArtifactUri(v.artifactUri())
                .setSha256(v.sha256()).addAllInputs(v.inputs().stream().map(ProtoMapper::tensor).toList())
                .addAllOutputs(v.outputs().stream().map(ProtoMapper::tensor).toList()).setFramework(v.framework())
                .putAllLabels(v.labels()).setDescription(v.description()).setStage(stage(v.stage()))
                .setCreatedAtMs(v.createdAtMs()).setCreatedBy(v.createdBy()).build();
    }

    /** A draft version from a request; stage, creation time and author are the registry's to set. */
    static io.maas.registry.domain.ModelVersion draft(RegisterVersionRequest r) {
        return new io.maas.registry.domain.ModelVersion(r.getModel(), r.getVersion(), r.getArtifactUri(), r.getSha256(),
                tensors(r.getInputsList()), tensors(r.getOutputsList()), r.getFramework(), r.getLabelsMap(), r.getDescription(),
                io.maas.registry.domain.Stage.CANDIDATE, 0, "");
    }

    static RoutingEntry routing(io.maas.registry.domain.RoutingEntry e) {
        return RoutingEntry.newBuilder().setModel(e.model()).setStableVersion(e.stable()).setCanaryVersion(e.canary())
                .setCanaryWeight(e.canaryWeight()).setRevision(e.revision())
                .setSource(e.source() == io.maas.registry.domain.RoutingSource.DECLARED ? RoutingSource.DECLARED : RoutingSource.RUNTIME)
                .setChangedBy(e.changedBy()).setReason(e.reason()).setChangedAtMs(e.changedAtMs()).build();
    }

    static RoutingEvent event(io.maas.registry.domain.RoutingEvent e) {
        return RoutingEvent.newBuilder()
                .setType(e.type() == io.maas.registry.domain.RoutingEvent.Type.SNAPSHOT ? RoutingEvent.Type.SNAPSHOT : RoutingEvent.Type.CHANGE)
                .setRevision(e.revision()).addAllEntries(e.entries().stream().map(ProtoMapper::routing).toList()).build();
    }

    static AuditRecord audit(io.maas.registry.domain.AuditRecord a) {
        return AuditRecord.newBuilder().setId(a.id()).setAtMs(a.atMs()).setActor(a.actor()).setAction(a.action()).setModel(a.model())
                .setVersion(a.version()).setBeforeJson(a.beforeJson()).setAfterJson(a.afterJson()).setReason(a.reason())
                .setSource(a.source() == io.maas.registry.domain.RoutingSource.DECLARED ? RoutingSource.DECLARED : RoutingSource.RUNTIME)
                .build();
    }

    static Stage stage(io.maas.registry.domain.Stage s) {
        return switch (s) {
            case CANDIDATE -> Stage.CANDIDATE;
            case STABLE -> Stage.STABLE;
            case ARCHIVED -> Stage.ARCHIVED;
        };
    }

    static io.maas.registry.domain.Stage stage(Stage s) {
        return switch (s) {
            case CANDIDATE -> io.maas.registry.domain.Stage.CANDIDATE;
            case STABLE -> io.maas.registry.domain.Stage.STABLE;
            case ARCHIVED -> io.maas.registry.domain.Stage.ARCHIVED;
            default -> throw RegistryException.invalid("stage is required: CANDIDATE, STABLE or ARCHIVED");
        };
    }

    private static TensorSpec tensor(io.maas.registry.domain.TensorSpec t) {
        return TensorSpec.newBuilder().setName(t.name()).setDatatype(t.datatype()).addAllShape(t.shape()).build();
    }

    private static List<io.maas.registry.domain.TensorSpec> tensors(List<TensorSpec> specs) {
        return specs.stream().map(t -> new io.maas.registry.domain.TensorSpec(t.getName(), t.getDatatype(), t.getShapeList())).toList();
    }

    static io.maas.registry.domain.Rollouts.VersionReport traffic(io.maas.proto.registry.VersionTraffic t) {
        if (t.getCalls() < 0 || t.getServerFaults() < 0 || t.getServerFaults() > t.getCalls()) {
            throw RegistryException.invalid("traffic report for " + t.getModel() + ":" + t.getVersion()
                    + " has calls " + t.getCalls() + " and server_faults " + t.getServerFaults() + ": need 0 <= server_faults <= calls");
        }
        return new io.maas.registry.domain.Rollouts.VersionReport(t.getModel(), t.getVersion(),
                new io.maas.registry.domain.TrafficWindow(t.getCalls(), t.getServerFaults(), t.getLatencyBinsMap().entrySet().stream()
                        .filter(e -> e.getKey() >= 0 && e.getKey() < 1000 && e.getValue() > 0)
                        .collect(java.util.stream.Collectors.toMap(java.util.Map.Entry::getKey, java.util.Map.Entry::getValue))));
    }

    static io.maas.registry.domain.Rollouts.ShadowReport shadow(io.maas.proto.registry.ShadowTraffic s) {
        if (s.getCompared() < 0) {
            throw RegistryException.invalid("shadow report for " + s.getModel() + " has a negative compared count");
        }
        return new io.maas.registry.domain.Rollouts.ShadowReport(s.getModel(), s.getVersion(), s.getShadowVersion(),
                new io.maas.registry.domain.ShadowWindow(s.getCompared(), s.getCosineSum(), s.getCosineMin(), s.getMaxAbsDiff()));
    }

    static io.maas.proto.registry.Rollout rollout(io.maas.registry.domain.Rollout r, int reportingRouters) {
        var g = r.plan().gates();
        var gates = io.maas.proto.registry.RolloutGates.newBuilder().setMinCalls(g.minCalls()).setMinShadowCompared(g.minShadowCompared());
        if (g.maxErrorRateDelta() != null) {
            gates.setMaxErrorRateDelta(g.maxErrorRateDelta());
        }
        if (g.maxP99Ms() != null) {
            gates.setMaxP99Ms(g.maxP99Ms());
        }
        if (g.maxP99Ratio() != null) {
            gates.setMaxP99Ratio(g.maxP99Ratio());
        }
        if (g.minCosine() != null) {
            gates.setMinCosine(g.minCosine());
        }
        if (g.maxAbsDiff() != null) {
            gates.setMaxAbsDiff(g.maxAbsDiff());
        }
        var b = io.maas.proto.registry.Rollout.newBuilder().setModel(r.model()).setStableVersion(r.stable())
                .setCandidateVersion(r.candidate()).setState(r.state().name()).setStep(r.step()).setGates(gates)
                .setWeight(r.weight()).setStartedAtMs(r.startedAtMs()).setStepStartedAtMs(r.stepStartedAtMs())
                .setNote(r.note() == null ? "" : r.note()).setStable(track(r.stableWindow())).setCanary(track(r.canaryWindow()))
                .setShadowCompared(r.shadowWindow().compared()).setShadowMeanCosine(r.shadowWindow().meanCosine())
                .setShadowMaxAbsDiff(r.shadowWindow().maxAbsDiff()).setDeclaredBy(r.declaredBy() == null ? "" : r.declaredBy())
                .setUpdatedAtMs(r.updatedAtMs()).setReportingRouters(reportingRouters);
        for (var s : r.plan().steps()) {
            b.addSteps(io.maas.proto.registry.RolloutStep.newBuilder().setWeight(s.weight()).setHoldSeconds(s.holdSeconds()).setPause(s.pause()));
        }
        return b.build();
    }

    private static io.maas.proto.registry.TrackEvidence track(io.maas.registry.domain.TrafficWindow w) {
        return io.maas.proto.registry.TrackEvidence.newBuilder().setCalls(w.calls()).setServerFaults(w.serverFaults())
                .setErrorRate(w.errorRate()).setP99Ms(w.p99Ms()).build();
    }
}
