package io.maas.testsupport;

import java.util.Collections;

/** REST/JSON inference requests for the tiny test model {@code simple} (INPUT0, INPUT1: FP32 [1,16]). */
public final class TinyModelJson {
    private TinyModelJson() {
    }

    /** A request whose INPUT0 carries {@code values} values: 16 fit the shape, more make a large body the model refuses. */
    public static String request(int values) {
        String data = String.join(",", Collections.nCopies(values, "1.5"));
        String ones = String.join(",", Collections.nCopies(16, "1"));
        return "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[" + data
                + "]},{\"name\":\"INPUT1\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":[" + ones + "]}]}";
    }
}
