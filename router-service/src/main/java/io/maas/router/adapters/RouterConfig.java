package io.maas.router.adapters;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Everything the router reads from configuration; each key also comes from its MAAS_* environment variable. */
@ConfigMapping(prefix = "maas")
public interface RouterConfig {

    Server server();

    Registry registry();

    Endpoints endpoints();

    /** MAAS_STATIC_ENDPOINTS: {@code model:version[:track]=host:port,host:port;model:version=...}. */
    @WithName("static-endpoints")
    Optional<String> staticEndpoints();

    Canary canary();

    /** MAAS_ROUTER_NAME: names this router in its traffic reports; unset = HOSTNAME (the pod's name), else router-PID. */
    @WithName("router-name")
    Optional<String> routerName();

    Balancer balancer();

    Shadow shadow();

    Tls tls();

    /**
     * TLS on the router's own gRPC and HTTP ports (one certificate for both) and to the inference pods;
     * PEM files, checked for rotation every reloadSeconds. See docs/router.md, Encryption in transit.
     */
    interface Tls {
        /** MAAS_TLS_CERT: PEM certificate (leaf first, then intermediates) served on both ports; unset = plaintext. */
        Optional<String> cert();

        /** MAAS_TLS_KEY: its private key, unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY), EC or RSA. */
        Optional<String> key();

        /** MAAS_TLS_CLIENT_CA: PEM CA bundle that callers' client certificates are verified against. */
        Optional<String> clientCa();

        /** MAAS_TLS_CLIENT_AUTH: NONE, REQUEST (verified when sent) or REQUIRED (no certificate, no handshake). */
        @WithDefault("NONE")
        String clientAuth();

        /** MAAS_TLS_RELOAD_SECONDS: how often every PEM file here is checked for a rotation (no restart needed). */
        @WithDefault("30")
        int reloadSeconds();

        /**
         * MAAS_TLS_PROBE_PORT: a plaintext port answering only GET /v2/health/live and /v2/health/ready,
         * for kubelet probes, which cannot present client certificates (nor do gRPC probes over TLS).
         */
        Optional<Integer> probePort();

        Pods pods();

        /** TLS from the router to the inference pods' gRPC and HTTP ports. */
        interface Pods {
            /** MAAS_TLS_PODS_ENABLED: connect to pods with TLS (implied by a CA). */
            @WithDefault("false")
            boolean enabled();

            /** MAAS_TLS_PODS_CA: PEM CA bundle the pods' certificates are verified against; unset = the JVM's CAs. */
            Optional<String> ca();

            /**
             * MAAS_TLS_PODS_SERVER_NAME: the DNS name the pods' certificates must carry (e.g. the inference
             * Service's name); pods are dialled by IP. Unset: the certificate must name the pod's IP.
             */
            Optional<String> serverName();

            /** MAAS_TLS_PODS_CERT / MAAS_TLS_PODS_KEY: client certificate the router presents (pods that require mTLS). */
            Optional<String> cert();

            Optional<String> key();
        }
    }

    Auth auth();

    /** Who may call (MAAS_AUTH_*): see docs/router.md "Authentication, authorization and quotas". */
    interface Auth {
        /** MAAS_AUTH_ENABLED: require credentials on every model call; false = anyone reachable may call anything. */
        @WithDefault("false")
        boolean enabled();

        /** MAAS_AUTH_API_KEYS_FILE: lines {@code tenant:sha256:<hex of the key>}; reloaded when it changes. */
        Optional<String> apiKeysFile();

        /** MAAS_AUTH_POLICY_FILE: the tenant policy (YAML); unset = every authenticated tenant may call every model. */
        Optional<String> policyFile();

        /** MAAS_AUTH_RELOAD_INTERVAL_MS: how often the keys, policy and JWKS files are checked for changes. */
        @WithDefault("5000")
        long reloadIntervalMs();

        /** MAAS_AUTH_CERTIFICATES: off, cn or uri-san: whether a verified client certificate names the tenant, and how. */
        @WithDefault("off")
        String certificates();

        Jwt jwt();

        /** JWTs from one OIDC issuer; a Kubernetes cluster is one (ServiceAccount tokens). */
        interface Jwt {
            /** MAAS_AUTH_JWT_ISSUER: the accepted {@code iss}; unset = JWTs are not accepted. */
            Optional<String> issuer();

            /** MAAS_AUTH_JWT_AUDIENCE: accepted {@code aud} values, comma separated. */
            Optional<List<String>> audience();

            /** MAAS_AUTH_JWT_TENANT_CLAIM: the claim naming the tenant. */
            @WithDefault("sub")
            String tenantClaim();

            /** MAAS_AUTH_JWT_JWKS: the issuer's keys, a file or an http(s) URL (e.g. https://kubernetes.default.svc/openid/v1/jwks). */
            Optional<String> jwks();

            /** MAAS_AUTH_JWT_JWKS_CA: PEM CA bundle for an https JWKS URL. */
            Optional<String> jwksCa();

            /** MAAS_AUTH_JWT_JWKS_TOKEN_FILE: bearer token sent when fetching the JWKS URL (the pod's ServiceAccount token). */
            Optional<String> jwksTokenFile();
        }
    }

    /** Shadow traffic: calls mirrored to a candidate version whose responses are only compared, never returned. */
    interface Shadow {
        /** MAAS_SHADOW: {@code model:version=share;...} (share 0-1; version {@code canary} = the table's canary). */
        Optional<String> rules();

        /** Shadow calls in flight (sent, or waiting for comparison) beyond which new ones are dropped. */
        @WithDefault("64")
        int maxInFlight();

        /** Longest a shadow call may take: the caller's deadline, capped at this (ms). */
        @WithDefault("5000")
        long timeoutMs();
    }

    /** The data-plane gRPC server (Open Inference Protocol and grpc.health.v1). */
    interface Server {
        @WithDefault("0.0.0.0")
        String host();

        @WithDefault("8001")
        int grpcPort();
    }

    interface Registry {
        /** MAAS_REGISTRY_ADDRESS: host:port of the registry's gRPC API. Unset: no routing table (local runs). */
        Optional<String> address();

        /** MAAS_REGISTRY_TOKEN: bearer token, used only for the automatic canary abort. */
        Optional<String> token();

        /** MAAS_REGISTRY_REPORT_INTERVAL_MS: how often traffic is reported to the registry for its rollouts; 0 = never. */
        @WithDefault("1000")
        long reportIntervalMs();

        /** First reconnect delay after the watch stream fails, doubled up to the max. */
        @WithDefault("100")
        long reconnectMinMs();

        @WithDefault("5000")
        long reconnectMaxMs();

        Tls tls();

        /** TLS to the registry's gRPC port, for the watch stream and the abort write alike (one channel). */
        interface Tls {
            /** MAAS_REGISTRY_TLS: connect with TLS; false = plaintext (unless a CA is set). */
            @WithDefault("false")
            boolean enabled();

            /**
             * MAAS_REGISTRY_CA: PEM file of the CA (or the certificate itself) to trust; unset = the JVM's
             * default trust store. Setting it implies TLS, as maasctl's --ca does.
             */
            Optional<String> ca();
        }
    }

    interface Endpoints {
        /** MAAS_ENDPOINTS_SOURCE: static or kubernetes. */
        @WithDefault("static")
        String source();

        /** MAAS_ENDPOINTS_NAMESPACE: namespace of the inference EndpointSlices; unset = the client's namespace. */
        Optional<String> namespace();
    }

    interface Canary {
        /** MAAS_CANARY_MAX_ERROR_RATE_DELTA: abort when canary error rate - stable error rate exceeds this (0-1). */
        @WithDefault("0.05")
        double maxErrorRateDelta();

        /** MAAS_CANARY_MAX_P99_MS: abort when the canary's p99 latency exceeds this; 0 disables. */
        @WithDefault("1000")
        double maxP99Ms();

        /** MAAS_CANARY_WINDOW_SECONDS: sliding window of the comparison. */
        @WithDefault("60")
        int windowSeconds();

        /** MAAS_CANARY_MIN_REQUESTS: canary calls needed in the window before any verdict. */
        @WithDefault("20")
        int minRequests();

        /** MAAS_CANARY_AUTO_ABORT: false only reports (log, metric). */
        @WithDefault("true")
        boolean autoAbort();

        /**
         * MAAS_CANARY_FALLBACK_TO_STABLE: a call the split sent to the canary that fails through a
         * server fault is answered by stable (inference is idempotent); the failure still counts
         * as the canary's evidence. Callers that name the version or send x-maas-canary are not.
         */
        @WithDefault("true")
        boolean fallbackToStable();
    }

    interface Balancer {
        /** Consecutive server faults that say a pod is broken (UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS) that eject it. */
        @WithDefault("5")
        int ejectAfterFailures();

        /** First ejection time; doubles for each repeated ejection, capped at ejectMaxMs. */
        @WithDefault("1000")
        long ejectBaseMs();

        @WithDefault("30000")
        long ejectMaxMs();

        /** After an ejection ends, the endpoint's share ramps back linearly over this time. */
        @WithDefault("5000")
        long rampMs();

        /** Most of a version's endpoints ejected at once, in percent (never the last one). */
        @WithDefault("50")
        int maxEjectedPercent();

        /** Attempts per call, counting the first; only a call a pod did not run is retried, on another endpoint, within the deadline. */
        @WithDefault("3")
        int maxAttempts();

        /** Deadline for calls whose client set none, in ms (0 = none). */
        @WithDefault("60000")
        long defaultTimeoutMs();

        /** Largest message forwarded in either direction (MAAS_BALANCER_MAX_MESSAGE_BYTES). */
        @WithDefault("16777216")
        int maxMessageBytes();

        /**
         * Request bytes the router holds at once, beyond each request's first 64 KiB: a call that would
         * pass it is refused with RESOURCE_EXHAUSTED while it is read (MAAS_MAX_REQUEST_BYTES_IN_FLIGHT).
         */
        @WithDefault("268435456")
        long maxRequestBytesInFlight();

        /**
         * Answer bytes the router holds for callers that do not read them (their HTTP/2 window closed),
         * over all connections; one connection may hold a quarter of it. Past either, an answer is replaced
         * by RESOURCE_EXHAUSTED (MAAS_MAX_ANSWER_BYTES_WAITING).
         */
        @WithDefault("268435456")
        long maxAnswerBytesWaiting();

        /** On shutdown, how long in-flight calls may take to finish. */
        @WithDefault("20")
        int drainSeconds();
    }
}
