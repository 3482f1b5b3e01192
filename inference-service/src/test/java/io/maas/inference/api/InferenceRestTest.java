package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/** The REST/JSON twin, over real HTTP. */
@QuarkusTest
class InferenceRestTest {
    private static final String ONES = "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]";
    private static final String RANGE = "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]";

    @Test
    void healthAndMetadata() {
        given().get("/v2/health/live").then().statusCode(200);
        given().get("/v2/health/ready").then().statusCode(200);
        given().get("/v2/models/simple").then().statusCode(200)
                .body("name", equalTo("simple")).body("versions", hasItems("1", "2"))
                .body("inputs[0].shape", equalTo(java.util.List.of(-1, 16)));
        given().get("/v2/models/simple/versions/1/ready").then().statusCode(200);
        given().get("/v2/models/minilm/config").then().statusCode(200).body("max_batch_size", equalTo(32));
    }

    @Test
    void jsonInferWithCurlShapedBody() {
        String body = "{\"id\":\"x1\",\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":"
                + RANGE + "},{\"name\":\"INPUT1\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + ONES + "}]}";
        given().body(body).post("/v2/models/simple/versions/1/infer").then().statusCode(200)
                .body("model_version", equalTo("1")).body("id", equalTo("x1"))
                .body("outputs[0].name", equalTo("OUTPUT0"))
                .body("outputs[0].data[15]", equalTo(16.0f))
                .body("outputs[1].data[0]", equalTo(-1.0f));
    }

    /** tritonclient.http's default: a JSON header followed by raw tensor bytes, both ways. */
    @Test
    void binaryTensorExtension() {
        String header = "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"parameters\":"
                + "{\"binary_data_size\":64}},{\"name\":\"INPUT1\",\"shape\":[1,16],\"datatype\":\"FP32\",\"parameters\":"
                + "{\"binary_data_size\":64}}],\"outputs\":[{\"name\":\"OUTPUT0\",\"parameters\":{\"binary_data\":true}}]}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(json.length + 128).order(ByteOrder.LITTLE_ENDIAN).put(json);
        for (int i = 0; i < 16; i++) {
            body.putFloat(i);
        }
        for (int i = 0; i < 16; i++) {
            body.putFloat(2f);
        }
        Response r = given().header("Inference-Header-Content-Length", json.length).body(body.array())
                .post("/v2/models/simple/infer");
        assertEquals(200, r.statusCode(), r.asString());
        int jsonLength = Integer.parseInt(r.header("Inference-Header-Content-Length"));
        byte[] all = r.asByteArray();
        String responseJson = new String(all, 0, jsonLength, StandardCharsets.UTF_8);
        assertEquals(true, responseJson.contains("\"binary_data_size\":64"), responseJson);
        ByteBuffer out = ByteBuffer.wrap(Arrays.copyOfRange(all, jsonLength, all.length)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(64, out.remaining());
        assertEquals(2f, out.getFloat(0));
        assertEquals(17f, out.getFloat(60));
    }

    @Test
    void errorsHaveTheRightStatusAndSayWhatToFix() {
        given().body("{\"inputs\":[]}").post("/v2/models/nope/infer").then().statusCode(404)
                .body("error", containsString("unknown model 'nope'"));
        given().body("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,15],\"datatype\":\"FP32\",\"data\":[1]}]}")
                .post("/v2/models/simple/infer").then().statusCode(400)
                .body("error", containsString("1 values in data but shape [1, 15] needs 15"));
        given().body("not json").post("/v2/models/simple/infer").then().statusCode(400)
                .body("error", containsString("not valid JSON"));
        given().header("Inference-Header-Content-Length", "abc").body("{}").post("/v2/models/simple/infer").then()
                .statusCode(400).body("error", containsString("Inference-Header-Content-Length is 'abc'"));
        given().get("/v2/models/simple/versions/7").then().statusCode(404);
        // values the model refuses: the caller's fault, 400 with ONNX Runtime's message
        given().body("{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[101,999999,102]},"
                        + "{\"name\":\"attention_mask\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[1,1,1]},"
                        + "{\"name\":\"token_type_ids\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[0,0,0]}]}")
                .post("/v2/models/minilm/versions/1/infer").then().statusCode(400)
                .body("error", containsString("indices element out of data bounds, idx=999999"));
        // a value its datatype cannot hold is refused, never read as 0, cut or wrapped
        String ones = "{\"name\":\"INPUT1\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + ONES + "}";
        given().body("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":"
                        + RANGE.replaceFirst("0", "\"x\"") + "}," + ones + "]}")
                .post("/v2/models/simple/infer").then().statusCode(400)
                .body("error", containsString("input 'INPUT0' element 0 is \"x\"; FP32 takes a number"));
        given().body("{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[101,2000.5,102]},"
                        + "{\"name\":\"attention_mask\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[1,1,1]},"
                        + "{\"name\":\"token_type_ids\",\"shape\":[1,3],\"datatype\":\"INT64\",\"data\":[0,0,0]}]}")
                .post("/v2/models/minilm/versions/1/infer").then().statusCode(400)
                .body("error", containsString("element 1 is 2000.5; INT64 takes a whole number"));
        given().body("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,\"16\"],\"datatype\":\"FP32\",\"data\":"
                        + RANGE + "}," + ones + "]}")
                .post("/v2/models/simple/infer").then().statusCode(400).body("error", containsString("list of whole numbers"));
        // non-finite values travel as answers carry them
        given().body("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":"
                        + RANGE.replaceFirst("0", "\"Infinity\"") + "}," + ones + "]}")
                .post("/v2/models/simple/versions/1/infer").then().statusCode(200)
                .body("outputs[0].data[0]", equalTo("Infinity"));
    }

    @Test
    void repositoryIndexListsEveryModelVersion() {
        given().post("/v2/repository/index").then().statusCode(200)
                .body("name", hasItems("minilm", "simple")).body("state", hasItems("READY"));
    }

    @Test
    void prometheusMetricsPerModelAndVersion() {
        jsonInferWithCurlShapedBody();
        given().get("/metrics").then().statusCode(200)
                .body(containsString("maas_inference_requests_total{model=\"simple\",version=\"1\"}"))
                .body(containsString("maas_inference_compute_seconds_bucket"))
                .body(containsString("maas_inference_batch_size"));
    }
}
