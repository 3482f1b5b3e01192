package io.maas.maasctl;

import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** maasctl: the model registry's command line for platform engineers. */
@Command(name = "maasctl", mixinStandardHelpOptions = true, version = "maasctl 0.1.0",
        description = "Register model versions and steer their traffic in the MaaS model registry.",
        subcommands = {RegisterCommand.class, RegisterRepositoryCommand.class, ListCommand.class, StatusCommand.class, SetWeightCommand.class,
                PromoteCommand.class, RollbackCommand.class, AuditCommand.class, RolloutCommand.class, CommandLine.HelpCommand.class})
public final class Maasctl {

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; returns the exit code (0 ok, 1 refused by the registry, 2 usage). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        var cli = new CommandLine(new Maasctl());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof StatusRuntimeException s) {
                err.println("error: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
                err.flush();
                return 1;
            }
            if (e instanceof IllegalArgumentException) {
                err.println("error: " + e.getMessage());
                err.flush();
                return 2;
            }
            throw e;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }
}
