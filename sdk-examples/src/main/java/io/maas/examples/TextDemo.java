package io.maas.examples;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.maas.client.TextModels;

/**
 * Text in, answer out through the router with the SDK's typed helper: a topic label for each text
 * (minilm-classify, zero-shot over MiniLM embeddings) and the start of its embedding (minilm-embed).
 *
 * <pre>java -cp 'target/*:target/lib/*' io.maas.examples.TextDemo [host:port] [text...]</pre>
 */
public final class TextDemo {
    private TextDemo() {
    }

    public static void main(String[] args) throws InterruptedException {
        String target = args.length > 0 ? args[0] : "localhost:8001";
        List<String> texts = args.length > 1 ? List.of(args).subList(1, args.length) : List.of(
                "My train to Berlin was cancelled, how do I get a refund?",
                "The app crashes every time I upload a photo.",
                "What a lovely sunny day, not a cloud in the sky.");
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            // The router's API key (MAAS_API_KEY, set by bin/maas demo) goes with every call.
            TextModels models = new TextModels(ClientInterceptors.intercept(channel,
                    MetadataUtils.newAttachHeadersInterceptor(RouterDemo.credentials())));
            for (String text : texts) {
                try {
                    List<TextModels.Label> labels = models.classify(text);
                    float[] embedding = models.embed(text);
                    System.out.printf("%s%n  -> %s%n  -> embedding [%d] %.4f %.4f %.4f ...%n", text,
                            labels.stream().map(l -> String.format("%s %.2f", l.label(), l.score())).toList(),
                            embedding.length, embedding[0], embedding[1], embedding[2]);
                } catch (StatusRuntimeException e) {
                    System.out.printf("%s%n  -> failed: %s%n", text, e.getStatus());
                }
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
