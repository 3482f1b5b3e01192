package io.maas.registry.api;

import io.maas.maasctl.Maasctl;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** maasctl against the running registry (in-process Quarkus, real gRPC over loopback). */
@QuarkusTest
class MaasctlTest {

    record Result(int code, String out, String err) {
    }

    static Result maasctl(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = args[0];
        full[1] = "--registry=127.0.0.1:" + GrpcTestClient.PORT;
        System.arraycopy(args, 1, full, 2, args.length - 1);
        int code = Maasctl.run(full, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    static Result ok(String... args) {
        var r = maasctl(args);
        assertEquals(0, r.code(), r.err());
        return r;
    }

    @Test
    void walkthroughRegisterCanaryPromoteRollbackAudit(@TempDir Path dir) throws Exception {
        String m = uniqueModel("cli");
        Path artifact = Files.writeString(dir.resolve("model.onnx"), "not really onnx");
        ok("register", m, "1", "--artifact", artifact.toString(), "--input", "input_ids:INT64:-1,-1", "--output", "y:FP32:-1,384");
        var second = ok("register", m, "2", "--artifact", artifact.toString(), "--input", "input_ids:INT64:-1,-1", "--label", "quant=int8");
        assertTrue(second.out().contains("registered " + m + " version 2 (CANDIDATE"), second.out());

        assertTrue(ok("set-weight", m, "--stable", "1").out().contains("stable 1"));
        assertTrue(ok("set-weight", m, "10", "--canary", "2", "--reason", "int8 canary").out().contains("canary 2 at 10%"));
        var status = ok("status", m).out();
        assertTrue(status.contains("routing:  stable 1, canary 2 at 10%"), status);
        assertTrue(status.contains("int8 canary"), status);
        assertTrue(ok("list").out().contains(m), "list shows the model");
        assertTrue(ok("list", m).out().contains("CANDIDATE"));

        assertTrue(ok("promote", m).out().contains("version 2 promoted to stable (was 1"));
        assertTrue(ok("status", m).out().contains("2        STABLE"));
        assertTrue(ok("rollback", m).out().contains("rolled back to stable 1, canary 2 at 10%"));

        var audit = ok("audit", m, "--json").out();
        assertTrue(audit.contains("RollbackRouting") && audit.contains("SetStage") && audit.contains("int8 canary"), audit);

        var refused = maasctl("set-weight", m, "150");
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("INVALID_ARGUMENT: canary_weight 150 is out of range"), refused.err());
        var badTensor = maasctl("register", m, "3", "--artifact", artifact.toString(), "--input", "input_ids");
        assertEquals(2, badTensor.code());
        assertTrue(badTensor.err().contains("NAME:DATATYPE:SHAPE"), badTensor.err());
    }
}
