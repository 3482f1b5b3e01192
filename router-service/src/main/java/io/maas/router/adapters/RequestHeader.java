package io.maas.router.adapters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

/**
 * Reads model name (field 1) and version (field 2) from a serialized OIP request without decoding
 * anything else: other top-level fields (tensors, raw contents) are skipped by length.
 * Every model-scoped OIP request (ModelInfer, ModelMetadata, ModelReady, ModelConfig) has this layout.
 */
public record RequestHeader(String model, String version) {

    public static RequestHeader parse(byte[] message) throws IOException {
        return parse(CodedInputStream.newInstance(message));
    }

    /** From the message's bytes in place (the data plane's received buffer). */
    public static RequestHeader parse(java.nio.ByteBuffer message) throws IOException {
        return parse(CodedInputStream.newInstance(message));
    }

    private static RequestHeader parse(CodedInputStream in) throws IOException {
        String model = "";
        String version = "";
        while (true) {
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 1 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                model = in.readStringRequireUtf8();
            } else if (field == 2 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                version = in.readStringRequireUtf8();
            } else if (!in.skipField(tag)) {
                break;
            }
        }
        return new RequestHeader(model, version);
    }

    /**
     * Field 2 (version) encoded alone; appended to a serialized request it overrides any earlier
     * value (protobuf: the last value of a scalar field wins), so the request is never re-encoded.
     */
    public static byte[] versionSuffix(String version) {
        byte[] utf8 = version.getBytes(StandardCharsets.UTF_8);
        int tag = (2 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
        byte[] out = new byte[CodedOutputStream.computeUInt32SizeNoTag(tag)
                + CodedOutputStream.computeUInt32SizeNoTag(utf8.length) + utf8.length];
        CodedOutputStream cos = CodedOutputStream.newInstance(out);
        try {
            cos.writeUInt32NoTag(tag);
            cos.writeUInt32NoTag(utf8.length);
            cos.writeRawBytes(utf8);
            cos.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }
}
