package io.maas.maasctl;

import io.maas.proto.registry.ControlRolloutRequest;
import io.maas.proto.registry.GetRolloutRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.Rollout;
import io.maas.proto.registry.TrackEvidence;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.Locale;

/** maasctl rollout status|pause|resume|promote|abort MODEL (docs/rollouts.md). */
@Command(name = "rollout", description = "Watch and steer a model's declared rollout.",
        subcommands = {RolloutCommand.Status.class, RolloutCommand.Pause.class, RolloutCommand.Resume.class,
                RolloutCommand.Promote.class, RolloutCommand.Abort.class})
final class RolloutCommand {

    @Command(name = "status", description = "Where the rollout stands: step, weight, each gate's figure, why it holds.")
    static final class Status extends RegistryCommand {
        @Parameters(index = "0", description = "Model name.")
        String model;

        @Override
        void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
            print(out(), stub.getRollout(GetRolloutRequest.newBuilder().setModel(model).build()));
        }
    }

    abstract static class Control extends RegistryCommand {
        @Parameters(index = "0", description = "Model name.")
        String model;

        @Option(names = "--reason", defaultValue = "", description = "Why; recorded in the audit log.")
        String reason;

        abstract ControlRolloutRequest.Action action();

        @Override
        void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
            print(out(), stub.controlRollout(ControlRolloutRequest.newBuilder().setModel(model).setAction(action())
                    .setReason(reason).build()));
        }
    }

    @Command(name = "pause", description = "Hold the current step until resumed (gates still abort).")
    static final class Pause extends Control {
        @Override
        ControlRolloutRequest.Action action() {
            return ControlRolloutRequest.Action.PAUSE;
        }
    }

    @Command(name = "resume", description = "Resume a paused rollout (or leave a pause step).")
    static final class Resume extends Control {
        @Override
        ControlRolloutRequest.Action action() {
            return ControlRolloutRequest.Action.RESUME;
        }
    }

    @Command(name = "promote", description = "Promote the candidate now: it becomes stable, whatever the schedule.")
    static final class Promote extends Control {
        @Override
        ControlRolloutRequest.Action action() {
            return ControlRolloutRequest.Action.PROMOTE;
        }
    }

    @Command(name = "abort", description = "Abort now: canary weight 0, stable keeps serving.")
    static final class Abort extends Control {
        @Override
        ControlRolloutRequest.Action action() {
            return ControlRolloutRequest.Action.ABORT;
        }
    }

    static void print(PrintWriter out, Rollout r) {
        out.printf("model:     %s%n", r.getModel());
        out.printf("rollout:   %s, candidate %s against stable %s (declared by %s, started %s)%n", r.getState(),
                r.getCandidateVersion(), r.getStableVersion(), r.getDeclaredBy(), RegistryCommand.time(r.getStartedAtMs()));
        var steps = new StringBuilder();
        for (int i = 0; i < r.getStepsCount(); i++) {
            var s = r.getSteps(i);
            steps.append(i == 0 ? "" : ", ").append(i == r.getStep() ? "[" : "")
                    .append(s.getPause() ? "pause" : s.getWeight() + "% " + s.getHoldSeconds() + "s")
                    .append(i == r.getStep() ? "]" : "");
        }
        // promoted, the canary weight is 0 because the candidate serves everything as stable
        String standing = r.getState().equals("PROMOTED") ? "done, candidate " + r.getCandidateVersion() + " is now stable"
                : "at weight " + r.getWeight() + "%";
        out.printf("step:      %d/%d %s since %s: %s%n", r.getStep() + 1, r.getStepsCount(), standing,
                RegistryCommand.time(r.getStepStartedAtMs()), steps);
        out.printf("canary:    %s%n", track(r.getCanary()));
        out.printf("stable:    %s%n", track(r.getStable()));
        if (r.getShadowCompared() > 0) {
            out.printf(Locale.ROOT, "shadow:    %d compared, mean cosine %.6f, max abs diff %.5g%n", r.getShadowCompared(),
                    r.getShadowMeanCosine(), r.getShadowMaxAbsDiff());
        }
        var g = r.getGates();
        out.printf(Locale.ROOT, "gates:     min calls %d%s%s%s%s%s%n", g.getMinCalls(),
                g.hasMaxErrorRateDelta() ? String.format(Locale.ROOT, ", error rate delta <= %.2f%%", 100 * g.getMaxErrorRateDelta()) : "",
                g.hasMaxP99Ms() ? String.format(Locale.ROOT, ", p99 <= %.1f ms", g.getMaxP99Ms()) : "",
                g.hasMaxP99Ratio() ? String.format(Locale.ROOT, ", p99 <= %.2f x stable", g.getMaxP99Ratio()) : "",
                g.hasMinCosine() ? String.format(Locale.ROOT, ", shadow cosine >= %.6f", g.getMinCosine()) : "",
                g.hasMaxAbsDiff() ? String.format(Locale.ROOT, ", shadow max abs diff <= %.5g", g.getMaxAbsDiff()) : "");
        out.printf("routers:   %d reporting%n", r.getReportingRouters());
        out.printf("note:      %s%n", r.getNote());
    }

    private static String track(TrackEvidence t) {
        return String.format(Locale.ROOT, "%d calls, %d server faults (%.2f%%), p99 %.1f ms", t.getCalls(), t.getServerFaults(),
                100 * t.getErrorRate(), t.getP99Ms());
    }
}
