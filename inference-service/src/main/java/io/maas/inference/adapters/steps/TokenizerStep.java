package io.maas.inference.adapters.steps;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.Tensor;
import io.maas.inference.domain.TensorSpec;

/**
 * The built-in {@code tokenizer} backend: UTF-8 text in (one BYTES element per text), the token ids,
 * attention mask and token type ids out as INT64 [texts, tokens], padded with zeros to the longest
 * text of the call (or to max_length with {@code padding: "max_length"}). A text longer than
 * max_length tokens is truncated ({@code truncation: "true"}) or refused (the default), never cut
 * silently; at most max_length x {@link #CHARS_PER_TOKEN} characters of a text are read. The tokenizer is HuggingFace's own (Rust, through DJL), read from the version folder's
 * tokenizer.json; nothing is downloaded.
 */
final class TokenizerStep extends BuiltInStep {
    static final String IDS = "input_ids";
    static final String MASK = "attention_mask";
    static final String TYPES = "token_type_ids";
    private static final List<String> DIMS = List.of("batch", "sequence");

    private final HuggingFaceTokenizer tokenizer;
    private final String input;
    private final int maxLength;
    private final boolean truncate;
    private final boolean padToMax;

    private TokenizerStep(HuggingFaceTokenizer tokenizer, String input, int maxLength, boolean truncate,
                          boolean padToMax, boolean batched) {
        super(List.of(new TensorSpec(input, Datatype.BYTES, batched ? new long[]{-1, 1} : new long[]{-1},
                        batched ? List.of("batch", "") : List.of("batch"))),
                List.of(new TensorSpec(IDS, Datatype.INT64, new long[]{-1, -1}, DIMS),
                        new TensorSpec(MASK, Datatype.INT64, new long[]{-1, -1}, DIMS),
                        new TensorSpec(TYPES, Datatype.INT64, new long[]{-1, -1}, DIMS)),
                "CPU (HuggingFace tokenizers)");
        this.tokenizer = tokenizer;
        this.input = input;
        this.maxLength = maxLength;
        this.truncate = truncate;
        this.padToMax = padToMax;
    }

    static TokenizerStep load(Path file, ModelSettings settings) {
        if (!Files.isRegularFile(file)) {
            throw InferenceException.unavailable("tokenizer file " + file + " does not exist; put the model's"
                    + " HuggingFace tokenizer.json there (or name it with default_model_filename)");
        }
        int maxLength = Steps.intParameter(settings, "max_length", 512);
        String truncation = settings.parameter("truncation", "false");
        if (!truncation.equals("true") && !truncation.equals("false")) {
            throw InferenceException.unavailable("tokenizer parameter truncation is '" + truncation
                    + "'; use \"true\" (cut texts to max_length) or \"false\" (refuse longer texts)");
        }
        String padding = settings.parameter("padding", "longest");
        if (!padding.equals("longest") && !padding.equals("max_length")) {
            throw InferenceException.unavailable("tokenizer parameter padding is '" + padding
                    + "'; use \"longest\" or \"max_length\"");
        }
        String input = settings.declaredInputs().isEmpty() ? "TEXT" : settings.declaredInputs().get(0).name();
        DjlNative.prepare();
        try {
            // Truncation always on at max_length: a text that overflows is flagged, then cut or refused here.
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(file)
                    .optAddSpecialTokens(true).optTruncation(true).optMaxLength(maxLength).optPadding(false)
                    .build();
            return new TokenizerStep(tokenizer, input, maxLength, truncation.equals("true"),
                    padding.equals("max_length"), settings.maxBatchSize() > 0);
        } catch (IOException | RuntimeException | LinkageError e) {
            // LinkageError: the native library did not load; this model is unavailable, the others are served.
            throw InferenceException.unavailable("tokenizer file " + file + " cannot be loaded: " + e);
        }
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> wanted) {
        Tensor text = in.get(input);
        byte[][] elements = text.strings();
        Tokens[] encodings = new Tokens[elements.length];
        int longest = 0;
        for (int i = 0; i < elements.length; i++) {
            String s = decode(elements[i], i, elements.length);
            Tokens e = encodeBounded(s, i, elements.length);
            if (e.exceedsMaxLength() && !truncate) {
                throw InferenceException.invalid("text " + where(i, elements.length) + " is longer than "
                        + maxLength + " tokens, the limit of this model (max_length); shorten it or split it");
            }
            encodings[i] = e;
            longest = Math.max(longest, e.ids().length);
        }
        int length = padToMax ? maxLength : longest;
        Map<String, Tensor> out = new HashMap<>();
        long[] shape = {elements.length, length};
        if (wanted.contains(IDS)) {
            out.put(IDS, pack(IDS, shape, encodings, Tokens::ids));
        }
        if (wanted.contains(MASK)) {
            out.put(MASK, pack(MASK, shape, encodings, Tokens::mask));
        }
        if (wanted.contains(TYPES)) {
            out.put(TYPES, pack(TYPES, shape, encodings, Tokens::types));
        }
        return out;
    }

    private String where(int i, int n) {
        return n == 1 ? "in input '" + input + "'" : "element " + i + " of input '" + input + "'";
    }

    /** Strict UTF-8: a malformed byte is the caller's error, never replaced by U+FFFD. */
    private String decode(byte[] bytes, int i, int n) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        String s;
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(bytes));
            s = chars.toString();
        } catch (CharacterCodingException e) {
            throw InferenceException.invalid("text " + where(i, n) + " is not valid UTF-8 (" + e.getMessage()
                    + "); send text as UTF-8 bytes");
        }
        if (s.isBlank()) {
            throw InferenceException.invalid("text " + where(i, n) + " is empty; send at least one"
                    + " non-blank character");
        }
        return s;
    }

    /**
     * Encodes at most max_length x {@link #CHARS_PER_TOKEN} characters of a text. HuggingFace's tokenizer
     * encodes a whole text before it truncates: one 15 MB text took 25 s and 2.4 GB of native memory,
     * past any pod's limit. A longer text is cut at the last whitespace before the bound, which keeps its
     * first max_length tokens exactly when that part holds more of them; when it holds fewer (long runs of
     * whitespace, words of hundreds of characters) the text is refused rather than embedded differently.
     */
    private Tokens encodeBounded(String s, int i, int n) {
        int bound = (int) Math.min(Integer.MAX_VALUE, (long) maxLength * CHARS_PER_TOKEN);
        if (s.length() <= bound) {
            return encode(s);
        }
        int cut = bound;
        while (cut > 0 && !Character.isWhitespace(s.charAt(cut))) {
            cut--;
        }
        Tokens e = encode(s.substring(0, cut));
        if (!e.exceedsMaxLength()) {
            throw InferenceException.invalid("text " + where(i, n) + " has " + s.length() + " characters and its"
                    + " first " + bound + " hold fewer than " + maxLength + " tokens (max_length); this model reads at"
                    + " most " + bound + " characters of a text: send shorter texts");
        }
        return e;
    }

    /** Characters read of a text per token of max_length: English runs 4-6 per token, CJK 1. */
    static final int CHARS_PER_TOKEN = 64;

    private interface Field {
        long[] of(Tokens e);
    }

    /** What the step sends on: ids, mask and type ids, and whether the text was cut at max_length. */
    private record Tokens(long[] ids, long[] mask, long[] types, boolean exceedsMaxLength) {
    }

    /**
     * HuggingFace's encode, reading only the three arrays the step sends on: DJL's Encoding also copies
     * the tokens as Java strings, their character spans, word and sequence ids and the special-token mask
     * (about 40% of the call's CPU, measured by TextBench). The builder options that make DJL rewrite the
     * text before encoding (lower case, accents, prefix space) are not used by this step.
     */
    private Tokens encode(String text) {
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        long encoding = lib.encode(tokenizer.getHandle(), text, true);
        try {
            return new Tokens(lib.getTokenIds(encoding), lib.getAttentionMask(encoding), lib.getTypeIds(encoding),
                    lib.getOverflowCount(encoding) > 0);
        } finally {
            lib.deleteEncoding(encoding);
        }
    }

    private static Tensor pack(String name, long[] shape, Tokens[] encodings, Field field) {
        ByteBuffer b = ByteBuffer.allocateDirect((int) (shape[0] * shape[1] * 8)).order(ByteOrder.LITTLE_ENDIAN);
        for (Tokens e : encodings) {
            long[] values = field.of(e);
            b.asLongBuffer().put(values);
            b.position(b.position() + (int) shape[1] * 8);
        }
        b.flip();
        return Tensor.ofBuffer(name, Datatype.INT64, shape, b);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
