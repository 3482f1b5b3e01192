package io.maas.registry.adapters;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.maas.registry.domain.AuditRecord;
import io.maas.registry.domain.Model;
import io.maas.registry.domain.ModelVersion;
import io.maas.registry.domain.Page;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.RegistryStore;
import io.maas.registry.domain.Rollout;
import io.maas.registry.domain.RoutingEntry;
import io.maas.registry.domain.RoutingSource;
import io.maas.registry.domain.Stage;
import io.maas.registry.domain.TensorSpec;

import javax.sql.DataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@link RegistryStore} over plain JDBC with portable SQL, so one implementation serves both H2
 * and PostgreSQL. Each write is a single transaction including its audit record.
 */
public final class JdbcRegistryStore implements RegistryStore {

    private static final String UNIQUE_VIOLATION = "23505";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<TensorSpec>> TENSORS = new TypeReference<>() { };
    private static final TypeReference<Map<String, String>> LABELS = new TypeReference<>() { };
    private static final String ROUTING_COLUMNS = "h.revision, h.model, h.stable, h.canary, h.canary_weight, h.source, h.changed_by, h.reason, h.changed_at";

    private final DataSource dataSource;
    private final AutoCloseable onClose;

    public JdbcRegistryStore(DataSource dataSource, AutoCloseable onClose) {
        this.dataSource = dataSource;
        this.onClose = onClose;
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    // ---- models ----

    @Override
    public void createModel(Model m, AuditRecord audit) {
        inTransaction(c -> {
            try (var ps = c.prepareStatement("INSERT INTO models (name, description, labels_json, created_at, created_by) VALUES (?,?,?,?,?)")) {
                ps.setString(1, m.name());
                ps.setString(2, m.description());
                ps.setString(3, json(m.labels()));
                ps.setLong(4, m.createdAtMs());
                ps.setString(5, m.createdBy());
                ps.executeUpdate();
            } catch (SQLException e) {
                if (uniqueViolation(e)) {
                    throw RegistryException.exists("model '" + m.name() + "' already exists");
                }
                throw e;
            }
            insertAudit(c, audit);
            return null;
        });
    }

    @Override
    public Optional<Model> findModel(String name) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT name, description, labels_json, created_at, created_by FROM models WHERE name = ?")) {
                ps.setString(1, name);
                try (var rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(model(rs)) : Optional.<Model>empty();
                }
            }
        });
    }

    @Override
    public Page<Model> listModels(int pageSize, String pageToken) {
        String after = pageToken.isEmpty() ? "" : decodeToken(pageToken);
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT name, description, labels_json, created_at, created_by FROM models WHERE name > ? ORDER BY name")) {
                ps.setString(1, after);
                ps.setMaxRows(pageSize + 1);
                List<Model> models = new ArrayList<>();
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        models.add(model(rs));
                    }
                }
                return page(models, pageSize, m -> encodeToken(m.name()));
            }
        });
    }

    // ---- versions ----

    private static final String VERSION_COLUMNS = "seq, model, version, artifact_uri, sha256, inputs_json, outputs_json, framework, labels_json, description, stage, created_at, created_by";

    @Override
    public void insertVersion(ModelVersion v, AuditRecord audit) {
        inTransaction(c -> {
            try (var ps = c.prepareStatement("INSERT INTO model_versions (model, version, artifact_uri, sha256, inputs_json, outputs_json, "
                    + "framework, labels_json, description, stage, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")) {
                ps.setString(1, v.model());
                ps.setString(2, v.version());
                ps.setString(3, v.artifactUri());
                ps.setString(4, v.sha256());
                ps.setString(5, json(v.inputs()));
                ps.setString(6, json(v.outputs()));
                ps.setString(7, v.framework());
                ps.setString(8, json(v.labels()));
                ps.setString(9, v.description());
                ps.setString(10, v.stage().name());
                ps.setLong(11, v.createdAtMs());
                ps.setString(12, v.createdBy());
                ps.executeUpdate();
            } catch (SQLException e) {
                if (uniqueViolation(e)) {
                    throw RegistryException.exists("version '" + v.version() + "' of model '" + v.model()
                            + "' is already registered: versions are immutable, register a new version name");
                }
                throw e;
            }
            insertAudit(c, audit);
            return null;
        });
    }

    @Override
    public Optional<ModelVersion> findVersion(String model, String version) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM model_versions WHERE model = ? AND version = ?")) {
                ps.setString(1, model);
                ps.setString(2, version);
                try (var rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(version(rs)) : Optional.<ModelVersion>empty();
                }
            }
        });
    }

    @Override
    public Page<ModelVersion> listVersions(String model, int pageSize, String pageToken) {
        long afterSeq = pageToken.isEmpty() ? 0 : parseLongToken(pageToken);
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM model_versions WHERE model = ? AND seq > ? ORDER BY seq")) {
                ps.setString(1, model);
                ps.setLong(2, afterSeq);
                ps.setMaxRows(pageSize + 1);
                List<ModelVersion> versions = new ArrayList<>();
                List<Long> seqs = new ArrayList<>();
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        seqs.add(rs.getLong("seq"));
                        versions.add(version(rs));
                    }
                }
                String next = versions.size() > pageSize ? encodeToken(Long.toString(seqs.get(pageSize - 1))) : "";
                return new Page<>(versions.subList(0, Math.min(pageSize, versions.size())), next);
            }
        });
    }

    @Override
    public void updateStage(ModelVersion updated, Stage expected, AuditRecord audit) {
        inTransaction(c -> {
            try (var ps = c.prepareStatement("UPDATE model_versions SET stage = ? WHERE model = ? AND version = ? AND stage = ?")) {
                ps.setString(1, updated.stage().name());
                ps.setString(2, updated.model());
                ps.setString(3, updated.version());
                ps.setString(4, expected.name());
                if (ps.executeUpdate() != 1) {
                    throw RegistryException.conflict("stage of version '" + updated.version() + "' of model '" + updated.model()
                            + "' changed meanwhile: re-read it and retry");
                }
            }
            insertAudit(c, audit);
            return null;
        });
    }

    // ---- routing ----

    @Override
    public Optional<RoutingEntry> findRouting(String model) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + ROUTING_COLUMNS + " FROM routing r JOIN routing_history h ON h.revision = r.revision WHERE r.model = ?")) {
                ps.setString(1, model);
                return first(ps);
            }
        });
    }

    @Override
    public List<RoutingEntry> allRouting() {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + ROUTING_COLUMNS + " FROM routing r JOIN routing_history h ON h.revision = r.revision ORDER BY r.model")) {
                return all(ps);
            }
        });
    }

    @Override
    public long currentRevision() {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT COALESCE(MAX(revision), 0) FROM routing_history"); var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Override
    public RoutingEntry commitRouting(RoutingEntry entry, long expectedModelRevision, Function<RoutingEntry, AuditRecord> audit,
                                      String declaredHash) {
        // Another process sharing the database may take the same next revision (for any model):
        // that collision is not a conflict for this model, so it is retried on a fresh transaction.
        for (int attempt = 1; ; attempt++) {
            try {
                return commitRoutingOnce(entry, expectedModelRevision, audit, declaredHash);
            } catch (RevisionTaken e) {
                if (attempt == 10) {
                    throw raced(entry.model());
                }
            }
        }
    }

    /** The next global revision was committed by another writer first. */
    private static final class RevisionTaken extends RuntimeException {
        RevisionTaken() {
            super(null, null, false, false);
        }
    }

    private RoutingEntry commitRoutingOnce(RoutingEntry entry, long expectedModelRevision, Function<RoutingEntry, AuditRecord> audit,
                                           String declaredHash) {
        return inTransaction(c -> {
            long revision;
            try (var ps = c.prepareStatement("SELECT COALESCE(MAX(revision), 0) + 1 FROM routing_history"); var rs = ps.executeQuery()) {
                rs.next();
                revision = rs.getLong(1);
            }
            var committed = new RoutingEntry(entry.model(), entry.stable(), entry.canary(), entry.canaryWeight(), revision,
                    entry.source(), entry.changedBy(), entry.reason(), entry.changedAtMs());
            try (var ps = c.prepareStatement("INSERT INTO routing_history (revision, model, stable, canary, canary_weight, source, changed_by, reason, changed_at) "
                    + "VALUES (?,?,?,?,?,?,?,?,?)")) {
                ps.setLong(1, revision);
                ps.setString(2, committed.model());
                ps.setString(3, committed.stable());
                ps.setString(4, committed.canary());
                ps.setInt(5, committed.canaryWeight());
                ps.setString(6, committed.source().name());
                ps.setString(7, committed.changedBy());
                ps.setString(8, committed.reason());
                ps.setLong(9, committed.changedAtMs());
                ps.executeUpdate();
            } catch (SQLException e) {
                if (uniqueViolation(e)) {
                    throw new RevisionTaken();
                }
                throw e;
            }
            if (expectedModelRevision == 0) {
                try (var ps = c.prepareStatement("INSERT INTO routing (model, revision) VALUES (?, ?)")) {
                    ps.setString(1, entry.model());
                    ps.setLong(2, revision);
                    ps.executeUpdate();
                } catch (SQLException e) {
                    if (uniqueViolation(e)) {
                        throw raced(entry.model());
                    }
                    throw e;
                }
            } else {
                try (var ps = c.prepareStatement("UPDATE routing SET revision = ? WHERE model = ? AND revision = ?")) {
                    ps.setLong(1, revision);
                    ps.setString(2, entry.model());
                    ps.setLong(3, expectedModelRevision);
                    if (ps.executeUpdate() != 1) {
                        throw raced(entry.model());
                    }
                }
            }
            if (declaredHash != null) {
                upsertDeclared(c, entry.model(), declaredHash);
            }
            insertAudit(c, audit.apply(committed));
            return committed;
        });
    }

    @Override
    public List<RoutingEntry> changesAfter(long revision, int limit) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + ROUTING_COLUMNS + " FROM routing_history h WHERE h.revision > ? ORDER BY h.revision")) {
                ps.setLong(1, revision);
                ps.setMaxRows(limit);
                return all(ps);
            }
        });
    }

    @Override
    public Optional<RoutingEntry> routingAt(String model, long revision) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + ROUTING_COLUMNS + " FROM routing_history h WHERE h.model = ? AND h.revision = ?")) {
                ps.setString(1, model);
                ps.setLong(2, revision);
                return first(ps);
            }
        });
    }

    @Override
    public Optional<RoutingEntry> routingBefore(String model, long revision) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT " + ROUTING_COLUMNS + " FROM routing_history h WHERE h.model = ? AND h.revision < ? ORDER BY h.revision DESC")) {
                ps.setString(1, model);
                ps.setLong(2, revision);
                ps.setMaxRows(1);
                return first(ps);
            }
        });
    }

    @Override
    public Optional<String> declaredHash(String model) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT content_hash FROM declared_routing WHERE model = ?")) {
                ps.setString(1, model);
                try (var rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
                }
            }
        });
    }

    @Override
    public void markDeclared(String model, String hash) {
        inTransaction(c -> {
            upsertDeclared(c, model, hash);
            return null;
        });
    }

    // ---- rollouts ----

    @Override
    public Optional<Rollout> findRollout(String model) {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT body_json FROM rollouts WHERE model = ?")) {
                ps.setString(1, model);
                try (var rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rollout(rs.getString(1))) : Optional.<Rollout>empty();
                }
            }
        });
    }

    @Override
    public List<Rollout> allRollouts() {
        return read(c -> {
            try (var ps = c.prepareStatement("SELECT body_json FROM rollouts ORDER BY model"); var rs = ps.executeQuery()) {
                List<Rollout> all = new ArrayList<>();
                while (rs.next()) {
                    all.add(rollout(rs.getString(1)));
                }
                return all;
            }
        });
    }

    @Override
    public void saveRollout(Rollout r, AuditRecord audit) {
        inTransaction(c -> {
            try (var ps = c.prepareStatement("UPDATE rollouts SET state = ?, body_json = ?, updated_at = ? WHERE model = ?")) {
                ps.setString(1, r.state().name());
                ps.setString(2, json(r));
                ps.setLong(3, r.updatedAtMs());
                ps.setString(4, r.model());
                if (ps.executeUpdate() == 0) {
                    try (var insert = c.prepareStatement("INSERT INTO rollouts (model, state, body_json, updated_at) VALUES (?,?,?,?)")) {
                        insert.setString(1, r.model());
                        insert.setString(2, r.state().name());
                        insert.setString(3, json(r));
                        insert.setLong(4, r.updatedAtMs());
                        insert.executeUpdate();
                    }
                }
            }
            if (audit != null) {
                insertAudit(c, audit);
            }
            return null;
        });
    }

    private static Rollout rollout(String body) {
        try {
            return JSON.readValue(body, Rollout.class);
        } catch (IOException e) {
            throw new UncheckedIOException("stored rollout cannot be read: " + e.getMessage(), e);
        }
    }

    // ---- audit ----

    @Override
    public Page<AuditRecord> listAudit(String model, int pageSize, String pageToken) {
        long beforeId = pageToken.isEmpty() ? Long.MAX_VALUE : parseLongToken(pageToken);
        return read(c -> {
            String sql = "SELECT id, at_ms, actor, action, model, version, before_json, after_json, reason, source FROM audit_log WHERE id < ?"
                    + (model.isEmpty() ? "" : " AND model = ?") + " ORDER BY id DESC";
            try (var ps = c.prepareStatement(sql)) {
                ps.setLong(1, beforeId);
                if (!model.isEmpty()) {
                    ps.setString(2, model);
                }
                ps.setMaxRows(pageSize + 1);
                List<AuditRecord> records = new ArrayList<>();
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        records.add(new AuditRecord(rs.getLong("id"), rs.getLong("at_ms"), rs.getString("actor"), rs.getString("action"),
                                rs.getString("model"), rs.getString("version"), rs.getString("before_json"), rs.getString("after_json"),
                                rs.getString("reason"), RoutingSource.valueOf(rs.getString("source"))));
                    }
                }
                return page(records, pageSize, r -> encodeToken(Long.toString(r.id())));
            }
        });
    }

    @Override
    public void close() {
        try {
            onClose.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the registry store failed", e);
        }
    }

    // ---- helpers ----

    private void upsertDeclared(Connection c, String model, String hash) throws SQLException {
        try (var ps = c.prepareStatement("UPDATE declared_routing SET content_hash = ? WHERE model = ?")) {
            ps.setString(1, hash);
            ps.setString(2, model);
            if (ps.executeUpdate() == 1) {
                return;
            }
        }
        try (var ps = c.prepareStatement("INSERT INTO declared_routing (model, content_hash) VALUES (?, ?)")) {
            ps.setString(1, model);
            ps.setString(2, hash);
            ps.executeUpdate();
        }
    }

    private void insertAudit(Connection c, AuditRecord a) throws SQLException {
        try (var ps = c.prepareStatement("INSERT INTO audit_log (at_ms, actor, action, model, version, before_json, after_json, reason, source) "
                + "VALUES (?,?,?,?,?,?,?,?,?)")) {
            ps.setLong(1, a.atMs());
            ps.setString(2, a.actor());
            ps.setString(3, a.action());
            ps.setString(4, a.model());
            ps.setString(5, a.version());
            ps.setString(6, a.beforeJson());
            ps.setString(7, a.afterJson());
            ps.setString(8, a.reason());
            ps.setString(9, a.source().name());
            ps.executeUpdate();
        }
    }

    private static RegistryException raced(String model) {
        return RegistryException.conflict("routing of model '" + model + "' was changed by another writer at the same time: re-read it and retry");
    }

    private <T> T inTransaction(Work<T> work) {
        try (var c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("registry store write failed: " + e.getMessage(), e);
        }
    }

    private <T> T read(Work<T> work) {
        try (var c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            return work.run(c);
        } catch (SQLException e) {
            throw new IllegalStateException("registry store read failed: " + e.getMessage(), e);
        }
    }

    private static boolean uniqueViolation(SQLException e) {
        return UNIQUE_VIOLATION.equals(e.getSQLState());
    }

    private static Optional<RoutingEntry> first(PreparedStatement ps) throws SQLException {
        var all = all(ps);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
    }

    private static List<RoutingEntry> all(PreparedStatement ps) throws SQLException {
        List<RoutingEntry> entries = new ArrayList<>();
        try (var rs = ps.executeQuery()) {
            while (rs.next()) {
                entries.add(new RoutingEntry(rs.getString("model"), rs.getString("stable"), rs.getString("canary"), rs.getInt("canary_weight"),
                        rs.getLong("revision"), RoutingSource.valueOf(rs.getString("source")), rs.getString("changed_by"),
                        rs.getString("reason"), rs.getLong("changed_at")));
            }
        }
        return entries;
    }

    private static Model model(ResultSet rs) throws SQLException {
        return new Model(rs.getString("name"), rs.getString("description"), parse(rs.getString("labels_json"), LABELS),
                rs.getLong("created_at"), rs.getString("created_by"));
    }

    private static ModelVersion version(ResultSet rs) throws SQLException {
        return new ModelVersion(rs.getString("model"), rs.getString("version"), rs.getString("artifact_uri"), rs.getString("sha256"),
                parse(rs.getString("inputs_json"), TENSORS), parse(rs.getString("outputs_json"), TENSORS), rs.getString("framework"),
                parse(rs.getString("labels_json"), LABELS), rs.getString("description"), Stage.valueOf(rs.getString("stage")),
                rs.getLong("created_at"), rs.getString("created_by"));
    }

    private static <T> Page<T> page(List<T> rows, int pageSize, Function<T, String> tokenOf) {
        if (rows.size() > pageSize) {
            return new Page<>(rows.subList(0, pageSize), tokenOf.apply(rows.get(pageSize - 1)));
        }
        return new Page<>(rows, "");
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <T> T parse(String json, TypeReference<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String encodeToken(String key) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
    }

    private static String decodeToken(String token) {
        try {
            return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw RegistryException.invalid("page_token '" + token + "' is not one this registry issued: pass next_page_token unchanged");
        }
    }

    private static long parseLongToken(String token) {
        try {
            return Long.parseLong(decodeToken(token));
        } catch (NumberFormatException e) {
            throw RegistryException.invalid("page_token '" + token + "' is not one this registry issued: pass next_page_token unchanged");
        }
    }
}
