package io.maas.router;

import io.maas.router.domain.Route;
import io.maas.router.domain.VersionChooser;
import io.maas.router.adapters.Payload;
import io.maas.router.adapters.RequestHeader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.maas.proto.inference.ModelInferRequest;

class RequestHeaderTest {

    static ModelInferRequest request(String version) {
        return ModelInferRequest.newBuilder().setId("req-1").setModelName("simple").setModelVersion(version)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("INPUT0").setDatatype("FP32")
                        .addShape(1).addShape(16))
                .addRawInputContents(ByteString.copyFrom(new byte[64])).build();
    }

    @Test
    void readsNameAndVersionOnly() throws IOException {
        assertEquals(new RequestHeader("simple", "7"), RequestHeader.parse(request("7").toByteArray()));
        assertEquals(new RequestHeader("simple", ""), RequestHeader.parse(request("").toByteArray()));
    }

    @Test
    void appendedVersionWinsWithoutReencoding() throws IOException {
        for (String original : new String[] { "", "1" }) {
            byte[] body = request(original).toByteArray();
            Payload p = new Payload(body, RequestHeader.versionSuffix("2"));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ((io.grpc.Drainable) Payload.MARSHALLER.stream(p)).drainTo(out);
            ModelInferRequest parsed = ModelInferRequest.parseFrom(out.toByteArray());
            assertEquals(request("2"), parsed);
            assertEquals(new RequestHeader("simple", "2"), RequestHeader.parse(out.toByteArray()));
        }
        // the non-draining path reads the same bytes
        Payload p = new Payload(request("").toByteArray(), RequestHeader.versionSuffix("10"));
        assertEquals(request("10"), ModelInferRequest.parseFrom(Payload.MARSHALLER.stream(p)));
    }

    @Test
    void stickyKeysOnlyMoveTowardsTheCanaryAsTheWeightGrows() {
        int previous = 0;
        for (int w = 0; w <= 100; w += 10) {
            Route route = new Route("m", "1", "2", w, 1);
            int canary = 0;
            for (int k = 0; k < 2000; k++) {
                String key = "k" + k;
                String v = VersionChooser.choose(route, "", null, null, key).version();
                assertEquals(v, VersionChooser.choose(route, "", null, null, key).version());
                if (v.equals("2")) {
                    canary++;
                    // a key on the canary at weight w stays there at every higher weight
                    assertEquals("2", VersionChooser.choose(new Route("m", "1", "2", Math.min(100, w + 10), 1), "", null,
                            null, key).version());
                }
            }
            assertTrue(canary >= previous);
            assertTrue(Math.abs(canary / 2000.0 - w / 100.0) < 0.05, "weight " + w + ": " + canary);
            previous = canary;
        }
    }
}
