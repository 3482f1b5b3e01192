package io.maas.router.api;

import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.maas.auth.RequestBudget;
import io.maas.router.adapters.HttpStatuses;
import io.maas.router.domain.StatusCode;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The REST twin's inference calls (POST .../infer), after {@link RestAdmission} took them: the body is
 * read (up to the message limit), the call goes through {@link RestForwarder}'s pipeline, and the answer
 * is written here rather than by JAX-RS so that it counts against the router's bound on answers callers
 * do not read ({@link UnreadAnswers}) until it is on the wire. A caller pipelining HTTP/1.1 requests
 * without reading the answers otherwise made the router hold every one of them.
 */
@ApplicationScoped
public class RestInference {
    @Inject
    RestForwarder forwarder;
    @Inject
    DataPlaneServer dataPlane;
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize maxBody;
    @ConfigProperty(name = "maas.balancer.default-timeout-ms")
    long timeoutMs;

    /** Callers' connections with REST answers waiting; an entry only while some do. */
    private final ConcurrentHashMap<HttpConnection, Waiting> waiting = new ConcurrentHashMap<>();

    void install(@Observes Router router) {
        // after RestAdmission (-100), before Quarkus' own body limit and RESTEasy
        router.post("/v2/models/:model/infer").order(-99).handler(this::infer);
        router.post("/v2/models/:model/versions/:version/infer").order(-99).handler(this::infer);
    }

    private void infer(RoutingContext rc) {
        HttpServerRequest http = rc.request();
        long max = maxBody.asLongValue();
        long declared = RequestBudget.declaredLength(http.getHeader(HttpHeaders.CONTENT_LENGTH), 0);
        if (declared > max) {
            tooLarge(rc, declared, max);
            return;
        }
        if (http.version() != HttpVersion.HTTP_2 && "100-continue".equalsIgnoreCase(http.getHeader(HttpHeaders.EXPECT))) {
            rc.response().writeContinue(); // curl asks before bodies over 1 MB and otherwise waits a second
        }
        // grown as the body arrives: sized by its declared length, a caller that declares much and sends
        // little would make the router hold what never came
        Buffer body = Buffer.buffer((int) Math.min(declared, RequestBudget.FREE_BYTES));
        RequestBudget.Request budget = RestAdmission.budget(rc);
        boolean[] refused = {false};
        // the body must arrive within the router's default deadline: a caller that stalls part-way holds
        // what it sent, and its connection, only that long
        long timer = rc.vertx().setTimer(timeoutMs, id -> {
            if (!refused[0] && !http.isEnded()) {
                refused[0] = true;
                refuse(rc, 408, "this request's body did not arrive within " + timeoutMs + " ms (" + body.length()
                        + " bytes came; maas.balancer.default-timeout-ms): send it at once");
            }
        });
        http.handler(chunk -> {
            if (refused[0]) {
                return; // dropped as it comes, until the connection closes
            }
            if (body.length() + chunk.length() > max) {
                refused[0] = true;
                tooLarge(rc, body.length() + chunk.length(), max);
            } else if (!budget.arrived(chunk.length())) {
                refused[0] = true;
                dataPlane.overBudget();
                refuse(rc, 429, budget.refusal("the router", "this request (" + RequestBudget.mib(body.length()
                        + chunk.length()) + " read so far, held " + RestAdmission.COPIES + " times while it is forwarded)"));
            } else {
                body.appendBuffer(chunk);
            }
        });
        http.endHandler(done -> {
            rc.vertx().cancelTimer(timer);
            if (!refused[0]) {
                budget.read();
                String version = rc.pathParam("version");
                Context loop = Vertx.currentContext();
                forwarder.forward("POST", rc.pathParam("model"), version == null ? "" : version, "/infer", http,
                        RestAdmission.caller(rc), body).thenAccept(answer -> loop.runOnContext(v -> write(rc, answer)));
            }
        });
        http.resume();
    }

    private static void tooLarge(RoutingContext rc, long bytes, long max) {
        refuse(rc, 413, "this request's body (" + (bytes > max ? "over " : "") + RequestBudget.mib(Math.min(bytes, max + 1))
                + ") is over the router's message limit of " + RequestBudget.mib(max) + " (MAAS_MAX_MESSAGE_BYTES): send less per call");
    }

    /**
     * Answers before the body has been read whole, asking an HTTP/1.1 client to close the connection;
     * what still comes is dropped. (Closing at once could reset the connection under the answer.)
     */
    private static void refuse(RoutingContext rc, int status, String message) {
        if (!rc.response().ended()) {
            RestAdmission.end(rc, status, message);
        }
    }

    /**
     * Writes an answer, counted as waiting until it is on the wire; refused when its connection holds its
     * share. Runs on the connection's event loop, as do the write's completions: one thread per connection.
     */
    private void write(RoutingContext rc, RestForwarder.Answer answer) {
        HttpServerResponse response = rc.response();
        if (response.closed() || response.ended()) {
            return;
        }
        HttpConnection connection = rc.request().connection();
        UnreadAnswers unread = dataPlane.unreadAnswers();
        Waiting held = waiting.get(connection);
        Buffer body = answer.body();
        // a connection with nothing waiting is always admitted (NONE); one with answers waiting may not be
        if (!unread.admit(held != null ? held : NONE, body.length())) {
            String why = unread.why(held, body.length());
            if (rc.request().version() != HttpVersion.HTTP_2) {
                // pipelined HTTP/1.1 requests would keep coming: the connection goes
                closeNow(connection);
                return;
            }
            answer = RestForwarder.Answer.error(HttpStatuses.http(StatusCode.RESOURCE_EXHAUSTED), why);
            body = answer.body();
        }
        response.setStatusCode(answer.status());
        if (answer.contentType() != null) {
            response.putHeader(HttpHeaders.CONTENT_TYPE, answer.contentType());
        }
        if (answer.headerLength() != null) {
            response.putHeader(RestForwarder.HEADER_LENGTH, answer.headerLength());
        }
        if (answer.target() != null) {
            response.putHeader(ForwardedStream.VERSION_OUT, answer.target().key().version())
                    .putHeader(ForwardedStream.TRACK_OUT, answer.target().track());
        }
        if (answer.retryAfterSeconds() > 0) {
            response.putHeader("Retry-After", Long.toString(answer.retryAfterSeconds()));
        }
        if (held == null) {
            held = new Waiting(connection);
            waiting.put(connection, held);
            unread.holding(held);
        }
        long n = body.length();
        held.bytes += n;
        unread.waiting(n);
        Waiting counted = held;
        response.end(body).onComplete(done -> {
            counted.bytes -= n;
            unread.waiting(-n);
            if (counted.bytes == 0) {
                waiting.remove(connection);
                unread.released(counted);
            }
        });
    }

    /** A connection with nothing waiting, for admitting the first answer on it. */
    private static final UnreadAnswers.Holder NONE = new UnreadAnswers.Holder() {
        @Override
        public long waiting() {
            return 0;
        }

        @Override
        public void evict(String why) {
        }
    };

    /** One caller connection's REST answers not yet on the wire (written on its event loop only). */
    private static final class Waiting implements UnreadAnswers.Holder {
        final HttpConnection connection;
        volatile long bytes;

        Waiting(HttpConnection connection) {
            this.connection = connection;
        }

        @Override
        public long waiting() {
            return bytes;
        }

        @Override
        public void evict(String why) {
            closeNow(connection);
        }
    }

    /**
     * Closes at once, dropping what waits to be written, as Vert.x closes an idle connection: its own
     * close (the channel's too) first waits until the caller has read everything, which a caller that
     * does not read never does.
     */
    private static void closeNow(HttpConnection connection) {
        if (connection instanceof ConnectionBase base) {
            base.channelHandlerContext().close();
        } else {
            connection.close();
        }
    }
}
