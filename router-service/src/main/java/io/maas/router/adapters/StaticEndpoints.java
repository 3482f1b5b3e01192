package io.maas.router.adapters;

import io.maas.router.domain.ModelKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * MAAS_STATIC_ENDPOINTS: groups separated by {@code ;}, each {@code model:version[:track]=addr,addr}
 * with addresses {@code host:grpcPort} or {@code host:grpcPort/httpPort} (the HTTP port serves the
 * REST twin), e.g. {@code simple:1=127.0.0.1:8101/8100,127.0.0.1:8102;simple:2:canary=127.0.0.1:8201}.
 *
 * @param http HTTP address by gRPC address, for endpoints that name an HTTP port
 */
public record StaticEndpoints(Map<ModelKey, List<String>> addresses, Map<ModelKey, String> tracks,
                              Map<String, String> http) {

    public static StaticEndpoints parse(String spec) {
        Map<ModelKey, List<String>> addresses = new HashMap<>();
        Map<ModelKey, String> tracks = new HashMap<>();
        Map<String, String> http = new HashMap<>();
        for (String group : spec.split(";")) {
            group = group.strip();
            if (group.isEmpty()) {
                continue;
            }
            int eq = group.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("MAAS_STATIC_ENDPOINTS: '" + group + "' lacks '=' (model:version=host:port,...)");
            }
            String[] id = group.substring(0, eq).strip().split(":");
            if (id.length < 2 || id.length > 3 || id[0].isEmpty() || id[1].isEmpty()) {
                throw new IllegalArgumentException("MAAS_STATIC_ENDPOINTS: '" + group.substring(0, eq)
                        + "' is not model:version or model:version:track");
            }
            ModelKey key = new ModelKey(id[0], id[1]);
            if (id.length == 3) {
                tracks.put(key, id[2]);
            }
            List<String> list = addresses.computeIfAbsent(key, k -> new ArrayList<>());
            for (String a : group.substring(eq + 1).split(",")) {
                a = a.strip();
                int slash = a.indexOf('/');
                if (slash >= 0) {
                    String httpPort = a.substring(slash + 1);
                    a = a.substring(0, slash);
                    Integer.parseInt(httpPort);
                    http.put(a, a.substring(0, a.lastIndexOf(':') + 1) + httpPort);
                }
                int colon = a.lastIndexOf(':');
                if (colon <= 0 || colon == a.length() - 1) {
                    throw new IllegalArgumentException("MAAS_STATIC_ENDPOINTS: '" + a + "' is not host:port");
                }
                Integer.parseInt(a.substring(colon + 1));
                list.add(a);
            }
        }
        return new StaticEndpoints(addresses, tracks, http);
    }
}
