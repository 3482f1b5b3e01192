// Checks for the MaaS Helm chart, the plain manifests in k8s/ and the Dockerfiles.
// Run through helm/tests/run.sh, which installs helm/kubectl and node_modules and sets
// HELM and KUBECTL. Prints `helm: N passed, M failed` last and exits non-zero on a failure.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const chart = join(repo, "helm", "maas");
const profiles = join(repo, "helm", "values");
const testValues = join(here, "values");
const HELM = process.env.HELM;
const KUBECTL = process.env.KUBECTL;
if (!HELM || !KUBECTL) throw new Error("HELM and KUBECTL must be set (use helm/tests/run.sh)");

const work = mkdtempSync(join(tmpdir(), "maas-helm-"));
const helmEnv = {
  ...process.env,
  HELM_CONFIG_HOME: join(work, "helm-config"),
  HELM_CACHE_HOME: join(work, "helm-cache"),
  HELM_DATA_HOME: join(work, "helm-data"),
};

let passed = 0;
let failed = 0;
const verbose = process.env.VERBOSE === "1";

/** One named check: passes unless fn throws. */
function check(name, fn) {
  try {
    fn();
    passed++;
    if (verbose) console.log(`ok    ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(e && e.message ? e.message : e).split("\n").join("\n      ")}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: "utf8", env: helmEnv, maxBuffer: 64 << 20, ...opts });
}

// ---------------------------------------------------------------------------------------
// Rendering
function valueArgs(files = [], sets = []) {
  return [...files.flatMap((f) => ["-f", f]), ...sets.flatMap((s) => ["--set", s])];
}
function template(files = [], sets = [], extra = []) {
  const r = run(HELM, ["template", "maas", chart, "--namespace", "maas", ...valueArgs(files, sets), ...extra]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}
function docs(text) {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`YAML: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((d) => d && typeof d === "object");
}
class Render {
  constructor(name, files = [], sets = []) {
    this.name = name;
    this.text = template(files, sets);
    this.objs = docs(this.text);
  }
  all(kind) {
    return this.objs.filter((o) => o.kind === kind);
  }
  get(kind, name) {
    const o = this.objs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`${this.name}: no ${kind}/${name}; have ${this.objs.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
    return o;
  }
  has(kind, name) {
    return this.objs.some((x) => x.kind === kind && x.metadata.name === name);
  }
  inference() {
    return this.all("Deployment").filter((d) => d.metadata.labels["app.kubernetes.io/component"] === "inference");
  }
  routing() {
    return parseYaml(this.get("ConfigMap", "maas-routing").data["routing.yaml"]);
  }
  podSpecs() {
    return [
      ...["Deployment", "StatefulSet", "DaemonSet", "Job"].flatMap((k) => this.all(k).map((d) => [`${k}/${d.metadata.name}`, d.spec.template.spec])),
      ...this.all("Pod").map((p) => [`Pod/${p.metadata.name}`, p.spec]),
    ];
  }
}
const container = (dep, name) => {
  const c = [...dep.spec.template.spec.containers, ...(dep.spec.template.spec.initContainers || [])].find((x) => x.name === name);
  if (!c) throw new Error(`${dep.metadata.name}: no container ${name}`);
  return c;
};
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e.value !== undefined ? e.value : e.valueFrom]));
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
const hasGpuBits = (spec) =>
  JSON.stringify(spec).includes("nvidia") || spec.runtimeClassName !== undefined ||
  spec.containers.some((c) => envOf(c).MAAS_DEVICE === "cuda" || (c.image || "").includes("gpu"));

// ---------------------------------------------------------------------------------------
// Kubernetes schema validation with kubernetes-models
const modelCache = new Map();
async function modelClass(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const mod = group === "monitoring.coreos.com"
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
    : group === "cert-manager.io" ? `@kubernetes-models/cert-manager/${group}/${version}/${kind}`
    : group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
  const cls = (await import(mod))[kind];
  modelCache.set(key, cls);
  return cls;
}
async function validateAll(render) {
  for (const o of render.objs) {
    let cls;
    try {
      cls = await modelClass(o.apiVersion, o.kind);
    } catch (e) {
      check(`${render.name}: ${o.kind}/${o.metadata?.name} has a known schema`, () => {
        throw new Error(`no kubernetes-models class for ${o.apiVersion} ${o.kind}`);
      });
      continue;
    }
    check(`${render.name}: ${o.kind}/${o.metadata.name} validates against the Kubernetes schema`, () => new cls(o).validate());
  }
}

// Checks that hold for every render.
function commonChecks(r) {
  check(`${r.name}: Deployment selectors match their pod templates; revisionHistoryLimit kept`, () => {
    for (const d of r.all("Deployment")) {
      assert(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${d.metadata.name}: selector does not match template labels`);
      assert(d.spec.revisionHistoryLimit >= 1, `${d.metadata.name}: no revisionHistoryLimit`);
    }
  });
  check(`${r.name}: every Service selects the pods of exactly one Deployment`, () => {
    for (const s of r.all("Service")) {
      const hits = r.all("Deployment").filter((d) => matches(s.spec.selector, d.spec.template.metadata.labels));
      eq(hits.length, 1, `Service ${s.metadata.name} matching Deployments`);
      for (const p of s.spec.ports) {
        const c = hits[0].spec.template.spec.containers[0];
        assert(c.ports.some((cp) => cp.name === p.targetPort), `Service ${s.metadata.name}: targetPort ${p.targetPort} not a container port`);
      }
      eq(s.spec.ports.map((p) => p.name), ["grpc", "http"], `Service ${s.metadata.name} port names`);
    }
  });
  check(`${r.name}: every pod is non-root with a read-only root filesystem and no capabilities`, () => {
    for (const [name, spec] of r.podSpecs()) {
      eq(spec.securityContext?.runAsNonRoot, true, `${name} runAsNonRoot`);
      for (const c of [...spec.containers, ...(spec.initContainers || [])]) {
        eq(c.securityContext?.readOnlyRootFilesystem, true, `${name}/${c.name} readOnlyRootFilesystem`);
        eq(c.securityContext?.allowPrivilegeEscalation, false, `${name}/${c.name} allowPrivilegeEscalation`);
        eq(c.securityContext?.capabilities?.drop, ["ALL"], `${name}/${c.name} capabilities.drop`);
        assert(c.resources?.requests && c.resources?.limits?.memory, `${name}/${c.name}: requests and a memory limit`);
      }
    }
  });
  check(`${r.name}: JVM pods mount a writable /tmp emptyDir and probe over gRPC (a TLS registry over HTTP)`, () => {
    for (const d of r.all("Deployment")) {
      const spec = d.spec.template.spec;
      const c = spec.containers[0];
      const tmp = (c.volumeMounts || []).find((m) => m.mountPath === "/tmp");
      assert(tmp && !tmp.readOnly, `${d.metadata.name}: no writable /tmp mount`);
      assert(spec.volumes.find((v) => v.name === tmp.name).emptyDir, `${d.metadata.name}: /tmp is not an emptyDir`);
      const grpcPort = c.ports.find((p) => p.name === "grpc").containerPort;
      if (envOf(c).MAAS_GRPC_TLS_CERT) {
        // Kubernetes' gRPC probes cannot do TLS: the registry's HTTP port answers for the same health.
        eq(c.readinessProbe?.httpGet, { path: "/q/health/ready", port: "http" }, `${d.metadata.name} readinessProbe.httpGet`);
        assert(!c.readinessProbe.grpc, `${d.metadata.name}: gRPC probe against a TLS port`);
      } else if (envOf(c).MAAS_TLS_CERT) {
        // router: the plaintext probe port (kubelet has no client certificate); pods: HTTPS on the HTTP port.
        const want = c.name === "router" ? { path: "/v2/health/ready", port: "probe" } : { path: "/v2/health/ready", port: "http", scheme: "HTTPS" };
        eq(c.readinessProbe?.httpGet, want, `${d.metadata.name} readinessProbe.httpGet`);
        assert(!c.readinessProbe.grpc, `${d.metadata.name}: gRPC probe against a TLS port`);
      } else {
        eq(c.readinessProbe?.grpc?.port, grpcPort, `${d.metadata.name} readinessProbe.grpc.port`);
      }
      assert(c.livenessProbe && c.startupProbe, `${d.metadata.name}: liveness and startup probes`);
      assert("JAVA_OPTS" in envOf(c), `${d.metadata.name}: JAVA_OPTS`);
    }
  });
  check(`${r.name}: RBAC is namespaced and least-privilege (router: endpointslices; registry: its ConfigMap)`, () => {
    assert(!r.all("ClusterRole").length && !r.all("ClusterRoleBinding").length, "cluster-wide RBAC rendered");
    eq(r.get("Role", "maas-router").rules, [{ apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] }], "router Role rules");
    eq(r.get("Role", "maas-registry").rules, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["maas-routing"], verbs: ["get", "list", "watch", "patch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] }], "registry Role rules");
    for (const rb of r.all("RoleBinding")) {
      eq(rb.subjects.map((s) => s.name), [rb.roleRef.name], `RoleBinding ${rb.metadata.name} subjects`);
      const dep = r.get("Deployment", rb.roleRef.name);
      eq(dep.spec.template.spec.serviceAccountName, rb.subjects[0].name, `${dep.metadata.name} serviceAccountName`);
      assert(r.has("ServiceAccount", rb.subjects[0].name), `no ServiceAccount ${rb.subjects[0].name}`);
    }
    for (const d of r.inference()) {
      eq(d.spec.template.spec.automountServiceAccountToken, false, `${d.metadata.name} automountServiceAccountToken`);
    }
  });
  check(`${r.name}: inference pods and Services carry component/model/version/track labels`, () => {
    for (const d of r.inference()) {
      const l = d.spec.template.metadata.labels;
      const svc = r.get("Service", d.metadata.name);
      for (const k of ["app.kubernetes.io/component", "maas.io/model", "maas.io/version", "maas.io/track"]) {
        assert(l[k], `${d.metadata.name}: pod label ${k}`);
        eq(svc.metadata.labels[k], l[k], `Service ${svc.metadata.name} label ${k}`);
        eq(svc.spec.selector[k] ?? l[k], l[k], `Service ${svc.metadata.name} selector ${k}`);
      }
      eq(svc.spec.selector["maas.io/version"], l["maas.io/version"], `Service ${svc.metadata.name} selects its version`);
      eq(svc.spec.type, "ClusterIP", `Service ${svc.metadata.name} type`);
      assert(["stable", "canary"].includes(l["maas.io/track"]), `${d.metadata.name}: track ${l["maas.io/track"]}`);
      eq(d.metadata.name, `maas-${l["maas.io/model"]}-${l["maas.io/track"]}`, "inference Deployment name");
      const c = container(d, "inference");
      const env = envOf(c);
      eq([env.MAAS_GRPC_PORT, env.MAAS_HTTP_PORT], ["8001", "8000"], `${d.metadata.name} ports env`);
      const repoMount = c.volumeMounts.find((m) => m.mountPath === env.MAAS_MODEL_REPOSITORY);
      assert(repoMount, `${d.metadata.name}: MAAS_MODEL_REPOSITORY ${env.MAAS_MODEL_REPOSITORY} is not a mount`);
      const init = container(d, "fetch-model");
      assert(init.volumeMounts.some((m) => m.name === repoMount.name), `${d.metadata.name}: init container does not fill the repository`);
      const script = init.command.join(" ");
      assert(script.includes(`/models/${l["maas.io/model"]}`) && script.includes(`"$src/${l["maas.io/version"]}"`), `${d.metadata.name}: init container copies the wrong model version`);
    }
  });
  check(`${r.name}: routing ConfigMap declares every model's split, matching the Deployments`, () => {
    const routing = r.routing();
    const byModel = Object.fromEntries(routing.models.map((m) => [m.name, m]));
    for (const d of r.inference()) {
      const l = d.metadata.labels;
      const m = byModel[l["maas.io/model"]];
      assert(m, `model ${l["maas.io/model"]} missing from routing.yaml`);
      // A retiring canary (same version as stable) serves that version but is no routing track.
      const track = l["maas.io/track"] === "canary" && m.canary === undefined ? "stable" : l["maas.io/track"];
      eq(m[track], l["maas.io/version"], `routing ${m.name}.${track} vs Deployment ${d.metadata.name}`);
    }
    for (const m of routing.models) {
      eq(typeof m.stable, "string", `routing ${m.name}.stable type`);
      assert(Number.isInteger(m.weight) && m.weight >= 0 && m.weight <= 100, `routing ${m.name}.weight ${m.weight}`);
      if (m.canary === undefined) eq(m.weight, 0, `routing ${m.name}.weight without canary`);
      eq(Object.keys(m).filter((k) => !["name", "stable", "canary", "weight", "rollout"].includes(k)), [], `routing ${m.name} keys`);
      if (m.canary !== undefined) {
        assert(r.has("Deployment", `maas-${m.name}-canary`), `no canary Deployment for ${m.name}`);
        assert(m.canary !== m.stable, `routing ${m.name}: canary equals stable (the registry refuses it)`);
      }
    }
  });
  check(`${r.name}: registry and router are wired together`, () => {
    const reg = r.get("Deployment", "maas-registry");
    const regEnv = envOf(container(reg, "registry"));
    eq(regEnv.MAAS_ROUTING_CONFIGMAP, "maas-routing", "MAAS_ROUTING_CONFIGMAP");
    eq(regEnv.MAAS_ROUTING_NAMESPACE, { fieldRef: { fieldPath: "metadata.namespace" } }, "MAAS_ROUTING_NAMESPACE");
    eq(regEnv.MAAS_REGISTRY_REQUIRE_AUTH, "true", "MAAS_REGISTRY_REQUIRE_AUTH");
    eq([regEnv.MAAS_GRPC_PORT, regEnv.MAAS_HTTP_PORT], ["9001", "9000"], "registry ports env");
    const c = container(reg, "registry");
    const tokens = regEnv.MAAS_REGISTRY_TOKENS_FILE;
    const mount = c.volumeMounts.find((m) => tokens.startsWith(m.mountPath + "/"));
    assert(mount && mount.readOnly, `tokens file ${tokens} is not on a read-only mount`);
    const vol = reg.spec.template.spec.volumes.find((v) => v.name === mount.name);
    assert(vol.secret, "tokens file is not from a Secret");
    const router = envOf(container(r.get("Deployment", "maas-router"), "router"));
    const regSvc = r.get("Service", "maas-registry");
    eq(router.MAAS_REGISTRY_ADDRESS, `maas-registry:${regSvc.spec.ports.find((p) => p.name === "grpc").port}`, "MAAS_REGISTRY_ADDRESS");
    eq(router.MAAS_REGISTRY_TOKEN.secretKeyRef.name, vol.secret.secretName, "router token Secret");
    eq(router.MAAS_ENDPOINTS_SOURCE, "kubernetes", "MAAS_ENDPOINTS_SOURCE");
    for (const k of ["MAAS_CANARY_MAX_ERROR_RATE_DELTA", "MAAS_CANARY_MAX_P99_MS", "MAAS_CANARY_WINDOW_SECONDS", "MAAS_ENDPOINTS_NAMESPACE"]) assert(router[k] !== undefined, `router env ${k}`);
  });
  check(`${r.name}: PodDisruptionBudgets cover the router and every inference Deployment`, () => {
    for (const d of [r.get("Deployment", "maas-router"), ...r.inference()]) {
      const pdbs = r.all("PodDisruptionBudget").filter((p) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels));
      eq(pdbs.length, 1, `PDBs for ${d.metadata.name}`);
    }
  });
}

// ---------------------------------------------------------------------------------------
async function main() {
  // Lint
  for (const [name, files] of [["defaults", []], ...["cpu", "gpu", "canary", "promoting", "promoted", "rollout"].map((p) => [p, [join(profiles, `${p}.yaml`)]]),
    ["features", [join(testValues, "features.yaml")]], ["postgres", [join(testValues, "postgres.yaml")]]]) {
    check(`helm lint --strict (${name})`, () => {
      const r = run(HELM, ["lint", "--strict", chart, ...valueArgs(files)]);
      assert(r.status === 0, r.stdout + r.stderr);
    });
  }

  const P = (p) => join(profiles, `${p}.yaml`);
  const renders = {};
  const scenarios = {
    defaults: [[], []],
    cpu: [[P("cpu")], []],
    gpu: [[P("gpu")], []],
    canary: [[P("canary")], []],
    "canary-25": [[P("canary")], ["models[0].canary.weight=25"]],
    "canary-removed": [[P("canary")], ["models[0].canary=null"]],
    promoting: [[P("promoting")], []],
    promoted: [[P("promoted")], []],
    rollout: [[P("rollout")], []],
    pipelines: [[P("pipelines")], []],
    features: [[join(testValues, "features.yaml")], []],
    postgres: [[join(testValues, "postgres.yaml")], []],
    "h2-ephemeral": [[], ["registry.db.h2.persistence.enabled=false"]],
    "registry-tls-own-ca": [[P("cpu")], ["registry.tls.enabled=true", "registry.tls.secretName=maas-registry-tls", "registry.tls.caSecretName=corp-ca", "registry.tls.caKey=root.pem"]],
    hostpath: [[P("canary")], ["modelSource.type=hostPath", "modelSource.hostPath.path=/srv/models"]],
    "tls-secrets": [[P("cpu")], ["router.tls.enabled=true", "router.tls.secretName=maas-router-tls", "router.tls.clientAuth=REQUIRED",
      "router.tls.clientCaSecretName=clients-ca", "router.tls.clientCaKey=bundle.pem", "router.tls.reloadSeconds=10",
      "inference.tls.enabled=true", "inference.tls.secretName=maas-pods-tls", "inference.tls.caSecretName=corp-ca", "inference.tls.caKey=root.pem"]],
    "tls-cert-manager": [[P("canary")], ["router.tls.enabled=true", "router.tls.certManager.enabled=true", "router.tls.certManager.issuerRef.name=maas-ca",
      "router.tls.certManager.issuerRef.kind=ClusterIssuer", "router.tls.certManager.dnsNames[0]=maas.example.com",
      "inference.tls.enabled=true", "inference.tls.certManager.enabled=true", "inference.tls.certManager.issuerRef.name=maas-ca"]],
  };
  for (const [name, [files, sets]] of Object.entries(scenarios)) {
    check(`helm template renders (${name})`, () => {
      renders[name] = new Render(name, files, sets);
    });
  }
  for (const r of Object.values(renders)) {
    await validateAll(r);
    commonChecks(r);
  }
  const R = (n) => {
    if (!renders[n]) throw new Error(`render ${n} failed`);
    return renders[n];
  };

  // CPU profile
  check("cpu: router, registry and one stable inference Deployment; no canary", () => {
    eq(R("cpu").all("Deployment").map((d) => d.metadata.name).sort(), ["maas-minilm-stable", "maas-registry", "maas-router"], "Deployments");
  });
  check("cpu: no GPU bits anywhere (selector, toleration, limit, runtimeClass, image, MAAS_DEVICE)", () => {
    assert(!R("cpu").text.includes("nvidia"), "the CPU render mentions nvidia");
    for (const [name, spec] of R("cpu").podSpecs()) assert(!hasGpuBits(spec), `${name} has GPU settings`);
    const c = container(R("cpu").get("Deployment", "maas-minilm-stable"), "inference");
    eq(envOf(c).MAAS_DEVICE, "cpu", "MAAS_DEVICE");
    eq(c.image, "maas/inference-service:0.1.0", "image");
  });
  check("cpu: defaults render the same workloads as the cpu profile", () => {
    eq(R("defaults").all("Deployment").map((d) => d.metadata.name).sort(), R("cpu").all("Deployment").map((d) => d.metadata.name).sort(), "Deployments");
    assert(!R("defaults").text.includes("nvidia"), "defaults mention nvidia");
  });

  // GPU profile
  check("gpu: inference pods carry node selector, tolerations, GPU limit, runtimeClass, GPU image, cuda", () => {
    const d = R("gpu").get("Deployment", "maas-minilm-stable");
    const spec = d.spec.template.spec;
    eq(spec.nodeSelector, { "nvidia.com/gpu.present": "true" }, "nodeSelector");
    assert(spec.tolerations.some((t) => t.key === "nvidia.com/gpu" && t.effect === "NoSchedule" && t.operator === "Exists"), "nvidia.com/gpu NoSchedule toleration");
    eq(spec.runtimeClassName, "nvidia", "runtimeClassName");
    const c = container(d, "inference");
    eq(c.resources.limits["nvidia.com/gpu"], "1", "nvidia.com/gpu limit");
    eq(c.image, "maas/inference-service-gpu:0.1.0", "image");
    eq(envOf(c).MAAS_DEVICE, "cuda", "MAAS_DEVICE");
  });
  check("gpu: router and registry stay off GPU nodes", () => {
    for (const n of ["maas-router", "maas-registry"]) assert(!hasGpuBits(R("gpu").get("Deployment", n).spec.template.spec), `${n} has GPU settings`);
  });

  // Canary at 10%
  check("canary: stable v1 and canary v2 Deployments and Services", () => {
    const s = R("canary").get("Deployment", "maas-minilm-stable");
    const c = R("canary").get("Deployment", "maas-minilm-canary");
    eq([s.spec.template.metadata.labels["maas.io/version"], s.spec.template.metadata.labels["maas.io/track"]], ["1", "stable"], "stable labels");
    eq([c.spec.template.metadata.labels["maas.io/version"], c.spec.template.metadata.labels["maas.io/track"]], ["2", "canary"], "canary labels");
    eq([s.spec.replicas, c.spec.replicas], [2, 1], "replicas");
    eq(R("canary").get("Service", "maas-minilm-canary").metadata.labels["maas.io/version"], "2", "canary Service version label");
  });
  check("canary: routing ConfigMap holds the declared 90/10 split", () => {
    eq(R("canary").routing(), { models: [{ name: "minilm", stable: "1", canary: "2", weight: 10 }] }, "routing.yaml");
  });
  check("canary: `--set models[0].canary.weight=25` moves the split and touches nothing else", () => {
    eq(R("canary-25").routing(), { models: [{ name: "minilm", stable: "1", canary: "2", weight: 25 }] }, "routing.yaml");
    // Everything but the routing ConfigMap is identical: no pod restarts. (The auth Secret's
    // random tokens differ between any two `helm template`s; nothing else may depend on them.)
    const skip = new Set(["ConfigMap/maas-routing", "Secret/maas-auth", "Secret/maas-api-key", "Secret/maas-api-keys"]);
    const strip = (r) => r.objs.filter((o) => !skip.has(`${o.kind}/${o.metadata.name}`));
    eq(strip(R("canary-25")), strip(R("canary")), "all other resources");
  });
  check("rollout: the canary's steps and gates reach the routing ConfigMap as declared (the registry runs them)", () => {
    // (toYaml writes keys sorted)
    eq(R("rollout").routing(), { models: [{ name: "minilm", stable: "1", canary: "2", weight: 5, rollout: {
      analysis: { maxErrorRateDelta: 0.01, maxP99Ms: 250, minCalls: 200, shadow: { maxAbsDiff: 1, minCompared: 50, minCosine: 0.98 } },
      steps: [{ hold: "5m", weight: 5 }, { hold: "10m", weight: 25 }, { pause: true }, { hold: "10m", weight: 50 }] } }] },
      "routing.yaml");
  });
  check("canary: removing the canary (canary=null) drops its Deployment, Service and PDB", () => {
    for (const k of ["Deployment", "Service", "PodDisruptionBudget"]) assert(!R("canary-removed").has(k, "maas-minilm-canary"), `${k} still rendered`);
    eq(R("canary-removed").routing(), { models: [{ name: "minilm", stable: "1", weight: 0 }] }, "routing.yaml");
  });
  check("promoting: canary == stable keeps the canary pods (v2) but routes all to stable v2", () => {
    const r = R("promoting");
    for (const t of ["stable", "canary"]) eq(r.get("Deployment", `maas-minilm-${t}`).spec.template.metadata.labels["maas.io/version"], "2", `${t} version`);
    eq(r.routing(), { models: [{ name: "minilm", stable: "2", weight: 0 }] }, "routing.yaml");
    for (const k of ["Deployment", "Service"]) assert(!R("canary").has(k, "maas-minilm-canary") || r.has(k, "maas-minilm-canary"), `${k} canary dropped too early`);
  });
  check("no canary Deployment without a canary in values (cpu, gpu, promoted, defaults)", () => {
    for (const n of ["cpu", "gpu", "promoted", "defaults"]) {
      assert(!R(n).all("Deployment").some((d) => d.metadata.labels["maas.io/track"] === "canary"), `${n} renders a canary`);
    }
  });
  check("NOTES.txt renders the split for canary, retiring canary and GPU (helm install --dry-run=client)", () => {
    const notes = (files) => {
      const r = run(HELM, ["install", "maas", chart, "--namespace", "maas", "--dry-run=client", ...valueArgs(files)]);
      assert(r.status === 0, r.stderr);
      return r.stdout.slice(r.stdout.indexOf("NOTES:"));
    };
    const c = notes([P("canary")]);
    assert(c.includes("stable v1 (90%") && c.includes("canary v2 (10%"), `canary NOTES:\n${c}`);
    assert(notes([P("promoting")]).includes("canary retiring"), "promoting NOTES");
    const g = notes([P("gpu")]);
    assert(g.includes("minilm [gpu]"), "gpu NOTES");
    assert(g.includes("GPU models (minilm) need nodes with label nvidia.com/gpu.present=true, free nvidia.com/gpu (1 per Pod) and RuntimeClass nvidia.") &&
      g.includes("kubectl -n maas get events --field-selector reason=FailedScheduling"), `gpu NOTES say what a Pending Pod needs:\n${g}`);
    assert(!c.includes("GPU models"), "CPU NOTES mention GPU");
  });
  check("promoted: v2 is stable in the same Deployment (rollout, undoable); no canary", () => {
    const d = R("promoted").get("Deployment", "maas-minilm-stable");
    eq(d.spec.template.metadata.labels["maas.io/version"], "2", "stable version");
    eq(d.spec.selector, R("canary").get("Deployment", "maas-minilm-stable").spec.selector, "immutable selector unchanged");
    assert(!R("promoted").has("Deployment", "maas-minilm-canary"), "canary Deployment rendered");
    eq(R("promoted").routing(), { models: [{ name: "minilm", stable: "2", weight: 0 }] }, "routing.yaml");
  });
  // Pipelines (text in, answer out): a pipeline is a model with its own Deployments, its steps copied beside it
  check("pipelines: one Deployment per pipeline, none for its steps; routed and registered by name", () => {
    const r = R("pipelines");
    eq(r.inference().map((d) => d.metadata.name).sort(), ["maas-minilm-classify-stable", "maas-minilm-embed-stable", "maas-minilm-stable"], "inference Deployments");
    eq(r.routing().models.map((m) => m.name), ["minilm", "minilm-embed", "minilm-classify"], "routed models");
    assert(container(r.get("Job", "maas-register-models"), "register").command.at(-1).includes("--model minilm --model minilm-embed --model minilm-classify"), "registration");
  });
  check("pipelines: fetch-model copies the pipeline's version and each step's, in order", () => {
    const script = container(R("pipelines").get("Deployment", "maas-minilm-embed-stable"), "fetch-model").command.at(-1);
    const copied = [...script.matchAll(/^echo "model (\S+) version (\S+) copied/gm)].map((m) => `${m[1]}/${m[2]}`);
    eq(copied, ["minilm-embed/1", "minilm-tokenizer/1", "minilm/1", "mean-pooling/1"], "copied versions");
    const plain = container(R("pipelines").get("Deployment", "maas-minilm-stable"), "fetch-model").command.at(-1);
    eq([...plain.matchAll(/^echo "model (\S+) version/gm)].length, 1, "a model without steps copies only itself");
  });
  check("pipelines: the copy script, run by sh, builds a repository the service loads (pipelines, steps, labels)", () => {
    const tmp = mkdtempSync(join(work, "copy-"));
    const src = join(tmp, "models");
    const files = {
      "minilm-classify/config.pbtxt": 'platform: "ensemble"\n', "minilm-classify/1/.keep": "",
      "minilm-embed/config.pbtxt": 'platform: "ensemble"\n', "minilm-embed/1/.keep": "",
      "minilm-tokenizer/config.pbtxt": 'backend: "tokenizer"\n', "minilm-tokenizer/1/tokenizer.json": "{}",
      "minilm/config.pbtxt": "max_batch_size: 32\n", "minilm/1/model.onnx": "onnx", "minilm/2/model.onnx": "v2",
      "mean-pooling/config.pbtxt": 'backend: "pooling"\n', "mean-pooling/1/.keep": "",
      "topic-zero-shot/config.pbtxt": 'backend: "zero_shot"\n', "topic-zero-shot/labels.tsv": "a\tb\n", "topic-zero-shot/1/.keep": "",
      "topic-labels/config.pbtxt": 'backend: "classification"\n', "topic-labels/labels.txt": "a\n", "topic-labels/1/.keep": "",
    };
    for (const [f, body] of Object.entries(files)) {
      run("mkdir", ["-p", dirname(join(src, f))]);
      writeFileSync(join(src, f), body);
    }
    const sh = (script) => run("sh", ["-ec", script.replaceAll("/models/", `${src}/`).replaceAll("/repository/", `${tmp}/repository/`)]);
    const script = container(R("pipelines").get("Deployment", "maas-minilm-classify-stable"), "fetch-model").command.at(-1);
    const ok = sh(script);
    eq(ok.status, 0, `copy script: ${ok.stderr}`);
    const listed = run("find", [join(tmp, "repository"), "-type", "f"]).stdout.trim().split("\n").map((f) => f.slice(join(tmp, "repository").length + 1)).sort();
    eq(listed, Object.keys(files).filter((f) => f !== "minilm/2/model.onnx").sort(), "repository files");
    rmSync(join(src, "mean-pooling", "1"), { recursive: true });
    const missing = sh(script);
    assert(missing.status !== 0 && missing.stderr.includes(`no ${src}/mean-pooling/1 in the model source`), `missing step version: ${missing.status} ${missing.stderr}`);
    rmSync(join(src, "minilm", "config.pbtxt"));
    rmSync(join(src, "minilm", "1", "model.onnx"));
    const noModel = sh(container(R("pipelines").get("Deployment", "maas-minilm-stable"), "fetch-model").command.at(-1));
    assert(noModel.status !== 0 && noModel.stderr.includes(`no ${src}/minilm/1/model.onnx, and no ${src}/minilm/config.pbtxt`), `no model file: ${noModel.stderr}`);
  });
  check("hostPath: the init container copies from a read-only hostPath volume", () => {
    const d = R("hostpath").get("Deployment", "maas-minilm-canary");
    const v = d.spec.template.spec.volumes.find((x) => x.hostPath);
    eq(v.hostPath.path, "/srv/models", "hostPath");
    assert(container(d, "fetch-model").volumeMounts.find((m) => m.name === v.name).readOnly, "source not read-only");
  });

  // Registry storage
  check("h2: one registry replica, Recreate, data dir on the chart's PVC", () => {
    const d = R("cpu").get("Deployment", "maas-registry");
    eq([d.spec.replicas, d.spec.strategy.type], [1, "Recreate"], "replicas/strategy");
    const c = container(d, "registry");
    const env = envOf(c);
    eq(env.MAAS_REGISTRY_DB_KIND, "h2", "MAAS_REGISTRY_DB_KIND");
    const m = c.volumeMounts.find((x) => x.mountPath === env.MAAS_REGISTRY_DATA_DIR);
    assert(m, "data dir not mounted");
    eq(d.spec.template.spec.volumes.find((v) => v.name === m.name).persistentVolumeClaim.claimName, "maas-registry-data", "claim");
    assert(R("cpu").has("PersistentVolumeClaim", "maas-registry-data"), "no PVC");
  });
  check("h2 without persistence: emptyDir, no PVC", () => {
    assert(!R("h2-ephemeral").has("PersistentVolumeClaim", "maas-registry-data"), "PVC rendered");
    const d = R("h2-ephemeral").get("Deployment", "maas-registry");
    assert(d.spec.template.spec.volumes.find((v) => v.name === "data").emptyDir, "no emptyDir");
  });
  check("postgresql: URL/user env, password from the existing Secret, rolling replicas, no PVC", () => {
    const d = R("postgres").get("Deployment", "maas-registry");
    const env = envOf(container(d, "registry"));
    eq([env.MAAS_REGISTRY_DB_KIND, env.MAAS_REGISTRY_DB_URL, env.MAAS_REGISTRY_DB_USER], ["postgresql", "jdbc:postgresql://postgres.db.svc:5432/maas", "maas_registry"], "db env");
    eq(env.MAAS_REGISTRY_DB_PASSWORD, { secretKeyRef: { name: "maas-pg", key: "pg-password" } }, "password");
    eq([d.spec.replicas, d.spec.strategy.type], [2, "RollingUpdate"], "replicas/strategy");
    assert(!R("postgres").all("PersistentVolumeClaim").length && !R("postgres").has("Secret", "maas-registry-db"), "PVC or db Secret rendered");
    assert(!("MAAS_REGISTRY_DATA_DIR" in env), "MAAS_REGISTRY_DATA_DIR set");
  });
  check("postgresql with a password: the chart creates the Secret", () => {
    const r = new Render("pg-password", [], ["registry.db.kind=postgresql", "registry.db.postgresql.url=jdbc:postgresql://pg:5432/maas", "registry.db.postgresql.password=s3cret"]);
    eq(r.get("Secret", "maas-registry-db").stringData, { password: "s3cret" }, "Secret data");
  });

  // Registry TLS
  const tlsOf = (r) => {
    const reg = r.get("Deployment", "maas-registry");
    const router = r.get("Deployment", "maas-router");
    const rc = container(reg, "registry");
    const oc = container(router, "router");
    const secretVolume = (dep, c, path) => {
      const m = c.volumeMounts.find((x) => path.startsWith(x.mountPath + "/"));
      assert(m && m.readOnly, `${dep.metadata.name}: ${path} is not on a read-only mount`);
      const v = dep.spec.template.spec.volumes.find((x) => x.name === m.name);
      assert(v.secret, `${dep.metadata.name}: ${path} is not from a Secret`);
      return { secret: v.secret.secretName, items: Object.fromEntries(v.secret.items.map((i) => [m.mountPath + "/" + i.path, i.key])) };
    };
    return { reg, router, regEnv: envOf(rc), routerEnv: envOf(oc), rc, oc, secretVolume };
  };
  const tracingEnv = (env) => [env.QUARKUS_OTEL_SDK_DISABLED, env.QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT, env.QUARKUS_OTEL_TRACES_SAMPLER_ARG];
  check("router (features): shadow rules and tracing reach the router's environment", () => {
    const env = envOf(container(R("features").get("Deployment", "maas-router"), "router"));
    eq(env.MAAS_SHADOW, "minilm:canary=0.1;tiny:8=1", "MAAS_SHADOW");
    eq(tracingEnv(env), ["false", "http://otel-collector.observability:4317", "0.05"], "tracing env");
  });
  check("router (defaults): no shadow, tracing left off (the image's default)", () => {
    const env = envOf(container(R("defaults").get("Deployment", "maas-router"), "router"));
    for (const k of ["MAAS_SHADOW", "QUARKUS_OTEL_SDK_DISABLED", "QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT"]) eq(env[k], undefined, k);
  });
  check("inference (features): tracing reaches every inference Pod (CPU and GPU, stable and canary), same collector as the router", () => {
    const deps = R("features").inference();
    eq(deps.map((d) => d.metadata.name).sort(), ["maas-minilm-canary", "maas-minilm-stable", "maas-tiny-stable"], "inference Deployments");
    for (const d of deps) eq(tracingEnv(envOf(container(d, "inference"))), ["false", "http://otel-collector.observability:4317", "0.05"], `${d.metadata.name} tracing env`);
  });
  check("inference (defaults, every profile): ORT telemetry off, MALLOC_ARENA_MAX=2, heap a share of the memory limit", () => {
    for (const p of ["defaults", "cpu", "gpu", "canary"]) {
      for (const d of R(p).inference()) {
        const c = container(d, "inference");
        const env = envOf(c);
        eq([env.ORT_DISABLE_TELEMETRY, env.MALLOC_ARENA_MAX], ["1", "2"], `${p} ${d.metadata.name} ORT_DISABLE_TELEMETRY, MALLOC_ARENA_MAX`);
        for (const f of ["-XX:MaxRAMPercentage=25", "-XX:MaxDirectMemorySize=64m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"]) {
          assert(env.JAVA_OPTS.split(" ").includes(f), `${p} ${d.metadata.name}: JAVA_OPTS lacks ${f}: ${env.JAVA_OPTS}`);
        }
        assert(c.resources.limits.memory, `${p} ${d.metadata.name}: no memory limit to size the heap from`);
      }
    }
  });
  check("inference (defaults): memory request 384Mi and limit 768Mi, from the measured RSS (docs/benchmarks.md, Memory)", () => {
    for (const d of R("defaults").inference()) {
      const res = container(d, "inference").resources;
      eq([res.requests.memory, res.limits.memory], ["384Mi", "768Mi"], `${d.metadata.name} memory request, limit`);
    }
  });
  check("inference: mallocArenaMax null leaves glibc's default (no MALLOC_ARENA_MAX)", () => {
    for (const d of new Render("malloc-default", [P("cpu")], ["inference.mallocArenaMax=null"]).inference()) {
      eq(envOf(container(d, "inference")).MALLOC_ARENA_MAX, undefined, `${d.metadata.name} MALLOC_ARENA_MAX`);
    }
  });
  check("inference: a pod without a memory limit is refused (the heap is derived from it)", () => {
    const f = join(work, "no-memory-limit.yaml");
    writeFileSync(f, "inference:\n  resources:\n    limits: null\n");
    const r = run(HELM, ["template", "maas", chart, ...valueArgs([f])]);
    assert(r.status !== 0, "rendered without error");
    assert(r.stderr.includes("models[minilm].stable: the inference container needs resources.limits.memory"), `unexpected error:\n${r.stderr}`);
  });
  check("inference (defaults, every profile): tracing left off (the image's default)", () => {
    for (const p of ["defaults", "cpu", "gpu", "canary"]) {
      for (const d of R(p).inference()) {
        const env = envOf(container(d, "inference"));
        for (const k of ["QUARKUS_OTEL_SDK_DISABLED", "QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT", "QUARKUS_OTEL_TRACES_SAMPLER_ARG"]) eq(env[k], undefined, `${p} ${d.metadata.name} ${k}`);
      }
    }
  });
  check("registry TLS (features): the registry serves tls.crt/tls.key from the kubernetes.io/tls Secret, read-only", () => {
    const t = tlsOf(R("features"));
    const cert = t.secretVolume(t.reg, t.rc, t.regEnv.MAAS_GRPC_TLS_CERT);
    const key = t.secretVolume(t.reg, t.rc, t.regEnv.MAAS_GRPC_TLS_KEY);
    eq([cert.secret, cert.items[t.regEnv.MAAS_GRPC_TLS_CERT], key.items[t.regEnv.MAAS_GRPC_TLS_KEY]], ["maas-registry-tls", "tls.crt", "tls.key"], "Secret, cert key, key key");
  });
  check("registry TLS (features): routers use TLS and trust ca.crt of the same Secret, and never mount the key", () => {
    const t = tlsOf(R("features"));
    eq(t.routerEnv.MAAS_REGISTRY_TLS, "true", "MAAS_REGISTRY_TLS");
    const ca = t.secretVolume(t.router, t.oc, t.routerEnv.MAAS_REGISTRY_CA);
    eq([ca.secret, Object.values(ca.items)], ["maas-registry-tls", ["ca.crt"]], "CA Secret and the only key mounted");
    eq(t.routerEnv.MAAS_REGISTRY_ADDRESS, "maas-registry:9001", "address (the name the certificate must carry)");
  });
  check("registry TLS: a separate CA Secret and key (registry.tls.caSecretName, caKey)", () => {
    const t = tlsOf(R("registry-tls-own-ca"));
    const ca = t.secretVolume(t.router, t.oc, t.routerEnv.MAAS_REGISTRY_CA);
    eq([ca.secret, Object.values(ca.items)], ["corp-ca", ["root.pem"]], "CA Secret and key");
    eq(t.secretVolume(t.reg, t.rc, t.regEnv.MAAS_GRPC_TLS_CERT).secret, "maas-registry-tls", "registry certificate Secret");
  });
  check("registry TLS off by default: no TLS env or Secret volumes, plaintext gRPC readiness probe", () => {
    for (const n of ["defaults", "cpu", "postgres"]) {
      const t = tlsOf(R(n));
      for (const k of ["MAAS_GRPC_TLS_CERT", "MAAS_GRPC_TLS_KEY"]) assert(!(k in t.regEnv), `${n}: registry env ${k}`);
      for (const k of ["MAAS_REGISTRY_TLS", "MAAS_REGISTRY_CA"]) assert(!(k in t.routerEnv), `${n}: router env ${k}`);
      eq(t.router.spec.template.spec.volumes.map((v) => v.name), ["tmp", "api-keys"], `${n}: router volumes`);
      eq(t.rc.readinessProbe.grpc, { port: 9001 }, `${n}: registry readiness probe`);
    }
  });
  check("registry TLS: NOTES.txt names the Secrets and how to give maasctl the CA", () => {
    const r = run(HELM, ["install", "maas", chart, "--namespace", "maas", "--dry-run=client", "-f", join(testValues, "features.yaml")]);
    assert(r.status === 0, r.stderr);
    const notes = r.stdout.slice(r.stdout.indexOf("NOTES:"));
    assert(notes.includes("Registry TLS: certificate from Secret maas-registry-tls"), `NOTES:\n${notes}`);
    assert(notes.includes("get secret maas-registry-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > registry-ca.crt") && notes.includes("maasctl --tls --ca registry-ca.crt"), `NOTES:\n${notes}`);
  });

  // Router and pod TLS (encryption in transit)
  check("router TLS (Secrets): both ports serve tls.crt/tls.key of router.tls.secretName, client certificates REQUIRED against the CA Secret", () => {
    const t = tlsOf(R("tls-secrets"));
    const e = t.routerEnv;
    const cert = t.secretVolume(t.router, t.oc, e.MAAS_TLS_CERT);
    const key = t.secretVolume(t.router, t.oc, e.MAAS_TLS_KEY);
    eq([cert.secret, cert.items[e.MAAS_TLS_CERT], key.items[e.MAAS_TLS_KEY]], ["maas-router-tls", "tls.crt", "tls.key"], "Secret, cert key, key key");
    const ca = t.secretVolume(t.router, t.oc, e.MAAS_TLS_CLIENT_CA);
    eq([ca.secret, ca.items[e.MAAS_TLS_CLIENT_CA]], ["clients-ca", "bundle.pem"], "client CA Secret and key");
    eq([e.MAAS_TLS_CLIENT_AUTH, e.MAAS_TLS_RELOAD_SECONDS, e.MAAS_TLS_PROBE_PORT], ["REQUIRED", "10", "8002"], "client auth, reload, probe port");
    for (const m of t.oc.volumeMounts) assert(!m.subPath, `${m.name}: subPath mounts never see a rotated Secret`);
    eq(t.oc.ports.find((p) => p.name === "probe").containerPort, 8002, "probe container port");
    eq([t.oc.startupProbe.httpGet.port, t.oc.livenessProbe.httpGet.port], ["probe", "probe"], "startup/liveness on the probe port");
  });
  check("pod TLS (Secrets): every inference Pod serves its Secret over HTTPS probes; routers verify pods against the CA Secret for one name", () => {
    const r = R("tls-secrets");
    const e = tlsOf(r).routerEnv;
    eq(e.MAAS_TLS_PODS_SERVER_NAME, "maas-inference.maas.svc", "the name pods' certificates must carry");
    const ca = tlsOf(r).secretVolume(r.get("Deployment", "maas-router"), container(r.get("Deployment", "maas-router"), "router"), e.MAAS_TLS_PODS_CA);
    eq([ca.secret, ca.items[e.MAAS_TLS_PODS_CA]], ["corp-ca", "root.pem"], "pods' CA Secret and key");
    for (const d of r.inference()) {
      const c = container(d, "inference");
      const env = envOf(c);
      const m = c.volumeMounts.find((x) => env.MAAS_TLS_CERT.startsWith(x.mountPath + "/"));
      const v = d.spec.template.spec.volumes.find((x) => x.name === m.name);
      eq([m.readOnly, v.secret.secretName, v.secret.items.map((i) => i.key)], [true, "maas-pods-tls", ["tls.crt", "tls.key"]], `${d.metadata.name} certificate volume`);
      eq([c.startupProbe.httpGet.scheme, c.livenessProbe.httpGet.scheme], ["HTTPS", "HTTPS"], `${d.metadata.name} probe schemes`);
    }
    assert(!r.all("Certificate").length, "Certificates rendered without certManager.enabled");
  });
  check("TLS with cert-manager: Certificates with PKCS#8 keys for the router's Service names and the pods' verified name", () => {
    const r = R("tls-cert-manager");
    const rc = r.get("Certificate", "maas-router").spec;
    eq([rc.secretName, rc.privateKey.encoding, rc.issuerRef], ["maas-router-tls", "PKCS8", { group: "cert-manager.io", kind: "ClusterIssuer", name: "maas-ca" }], "router Certificate");
    for (const n of ["maas-router", "maas-router.maas.svc", "maas.example.com"]) assert(rc.dnsNames.includes(n), `router dnsNames lack ${n}: ${rc.dnsNames}`);
    const pc = r.get("Certificate", "maas-inference").spec;
    eq([pc.secretName, pc.privateKey.encoding, pc.dnsNames[0]], ["maas-inference-tls", "PKCS8", "maas-inference.maas.svc"], "pods Certificate");
    assert(pc.dnsNames.includes("maas-minilm-canary.maas.svc"), `pods dnsNames: ${pc.dnsNames}`);
    const t = tlsOf(r);
    eq(t.secretVolume(t.router, t.oc, t.routerEnv.MAAS_TLS_CERT).secret, "maas-router-tls", "router mounts cert-manager's Secret");
    eq(t.secretVolume(t.router, t.oc, t.routerEnv.MAAS_TLS_PODS_CA).secret, "maas-inference-tls", "routers trust ca.crt of the pods' Secret");
    assert(!("MAAS_TLS_CLIENT_CA" in t.routerEnv), "client CA without clientAuth");
  });
  check("router and pod TLS off by default: no TLS env, probe port or Certificates", () => {
    for (const n of ["defaults", "cpu", "features"]) {
      const e = tlsOf(R(n)).routerEnv;
      for (const k of ["MAAS_TLS_CERT", "MAAS_TLS_CLIENT_CA", "MAAS_TLS_PROBE_PORT", "MAAS_TLS_PODS_CA"]) assert(!(k in e), `${n}: router env ${k}`);
      for (const d of R(n).inference()) assert(!("MAAS_TLS_CERT" in envOf(container(d, "inference"))), `${n}: ${d.metadata.name} MAAS_TLS_CERT`);
      assert(!R(n).all("Certificate").length, `${n}: Certificates`);
    }
  });

  // Auth
  check("auth: chart-created tokens file has router (writer) and admin lines plus extras", () => {
    const s = R("features").get("Secret", "maas-auth").stringData;
    const lines = s.tokens.trim().split("\n");
    eq(lines.map((l) => l.split(":").slice(0, 2).join(":")), ["router:writer", "admin:admin", "ci:reader"], "subjects and roles");
    eq(lines[0].split(":")[2], s["router-token"], "router token matches its tokens-file line");
    assert(s["router-token"].length >= 32, "router token too short");
  });

  // Optional features
  check("features: ServiceMonitor scrapes /metrics on the http port of all components", () => {
    const sm = R("features").get("ServiceMonitor", "maas");
    eq(sm.spec.endpoints.map((e) => [e.port, e.path]), [["http", "/metrics"]], "endpoints");
    eq(sm.metadata.labels.release, "prometheus", "extra label");
    const svcs = R("features").all("Service").filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels) && sm.spec.selector.matchExpressions[0].values.includes(s.metadata.labels["app.kubernetes.io/component"]));
    eq(svcs.length, R("features").all("Service").length, "Services selected");
    assert(!R("cpu").all("ServiceMonitor").length, "ServiceMonitor rendered when disabled");
  });
  check("features: NetworkPolicies isolate inference and registry pods to the router", () => {
    const r = R("features");
    const routerLabels = r.get("Deployment", "maas-router").spec.template.metadata.labels;
    for (const n of ["maas-inference", "maas-registry"]) {
      const np = r.get("NetworkPolicy", n);
      assert(np.spec.ingress[0].from.some((p) => p.podSelector && matches(p.podSelector.matchLabels, routerLabels)), `${n}: router not allowed`);
      eq(np.spec.ingress.at(-1).from[0].namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "monitoring" }, `${n}: metrics clients`);
    }
    const inf = r.get("NetworkPolicy", "maas-inference");
    for (const d of r.inference()) assert(matches(inf.spec.podSelector.matchLabels, d.spec.template.metadata.labels), `${d.metadata.name} not covered`);
    const testPod = r.all("Pod")[0];
    assert(r.get("NetworkPolicy", "maas-router").spec.ingress[0].from.some((p) => p.podSelector && matches(p.podSelector.matchLabels, testPod.metadata.labels)), "helm test Pod cannot reach the router");
    assert(!R("cpu").all("NetworkPolicy").length, "NetworkPolicy rendered when disabled");
  });
  check("features: HPAs replace fixed replicas (inference per track, router)", () => {
    const r = R("features");
    for (const d of [...r.inference(), r.get("Deployment", "maas-router")]) {
      assert(d.spec.replicas === undefined, `${d.metadata.name} still sets replicas`);
      const hpa = r.get("HorizontalPodAutoscaler", d.metadata.name);
      eq(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name }, "scaleTargetRef");
    }
    eq(r.get("HorizontalPodAutoscaler", "maas-minilm-stable").spec.minReplicas, 3, "minReplicas from the track");
    assert(!R("cpu").all("HorizontalPodAutoscaler").length, "HPA rendered when disabled");
  });
  check("features: per-model GPU override pins only that model", () => {
    const r = R("features");
    assert(hasGpuBits(r.get("Deployment", "maas-tiny-stable").spec.template.spec), "tiny not on GPU");
    for (const n of ["maas-minilm-stable", "maas-minilm-canary"]) assert(!hasGpuBits(r.get("Deployment", n).spec.template.spec), `${n} has GPU settings`);
    const off = new Render("gpu-opt-out", [P("gpu")], ["models[0].gpu.enabled=false"]);
    assert(!hasGpuBits(off.get("Deployment", "maas-minilm-stable").spec.template.spec), "models[].gpu.enabled=false ignored");
  });
  check("features: PVC model source, pull secrets, common labels, extra env, router limits", () => {
    const r = R("features");
    const d = r.get("Deployment", "maas-minilm-canary");
    const v = d.spec.template.spec.volumes.find((x) => x.persistentVolumeClaim);
    eq([v.persistentVolumeClaim.claimName, v.persistentVolumeClaim.readOnly], ["model-store", true], "model PVC");
    eq(container(d, "fetch-model").volumeMounts.find((m) => m.name === v.name).subPath, "repository", "subPath");
    for (const [n, spec] of r.podSpecs()) eq(spec.imagePullSecrets, [{ name: "regcred" }], `${n} imagePullSecrets`);
    for (const o of r.objs) eq(o.metadata.labels?.team, "ml-platform", `${o.kind}/${o.metadata.name} commonLabels`);
    eq(envOf(container(d, "inference")).MAAS_LOG_LEVEL, "DEBUG", "extra env");
    const re = envOf(container(r.get("Deployment", "maas-router"), "router"));
    eq([re.MAAS_CANARY_MAX_ERROR_RATE_DELTA, re.MAAS_CANARY_MAX_P99_MS, re.MAAS_CANARY_WINDOW_SECONDS, re.MAAS_ENDPOINTS_NAMESPACE], ["0.02", "250", "30", "serving"], "router canary env");
    eq(container(d, "inference").resources.requests.cpu, "1", "canary inherits default resources");
    eq(container(r.get("Deployment", "maas-minilm-stable"), "inference").resources, { limits: { memory: "768Mi" }, requests: { cpu: "2", memory: "384Mi" } }, "per-track resources merged over defaults");
  });

  // helm test hook
  check("helm test: hook Pod sends one ModelInfer for the first model through the router", () => {
    const pod = R("cpu").all("Pod")[0];
    eq(pod.metadata.annotations["helm.sh/hook"], "test", "hook");
    const args = pod.spec.containers[0].args;
    eq(args.slice(-2), ["maas-router:8001", "inference.GRPCInferenceService/ModelInfer"], "target");
    const req = JSON.parse(args[args.indexOf("-d") + 1]);
    eq(req.model_name, "minilm", "model_name");
    eq(req.inputs.map((i) => i.name), ["input_ids", "attention_mask", "token_type_ids"], "inputs");
    assert(!args.includes("-proto") && !args.includes("-import-path"), "grpcurl should use the router's reflection");
    eq(R("features").all("Pod")[0].spec.containers[0].args.find((a) => a.startsWith("{")) && JSON.parse(R("features").all("Pod")[0].spec.containers[0].args.find((a) => a.startsWith("{"))).model_name, "tiny", "tests.model");
    assert(!new Render("no-tests", [], ["tests.enabled=false"]).all("Pod").length, "tests.enabled=false still renders the Pod");
  });

  // Registration hook Job
  const regJob = (r) => r.get("Job", "maas-register-models");
  check("registration: post-install/upgrade hook Job registers the models with the router's writer token", () => {
    const job = regJob(R("cpu"));
    eq(job.metadata.annotations, { "helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded" }, "hook annotations");
    const c = container(job, "register");
    eq(c.image, "maas/maasctl:0.1.0", "image");
    const env = envOf(c);
    eq(env.MAAS_REGISTRY_ADDRESS, "maas-registry:9001", "registry address");
    eq(env.MAAS_REGISTRY_TOKEN, envOf(container(R("cpu").get("Deployment", "maas-router"), "router")).MAAS_REGISTRY_TOKEN, "token: the router's");
    const script = c.command.at(-1);
    assert(script.includes("until maasctl list"), "does not wait for the registry");
    assert(script.includes('register-repository --repository /models --artifact-base "file:///models" --model minilm'), script);
    assert(!script.includes("--ca"), "TLS flags without registry.tls");
    eq(c.volumeMounts.find((m) => m.mountPath === "/models"), { name: "model-source", mountPath: "/models", readOnly: true }, "model source mount");
  });
  check("registration: image source copied by the same script as the inference Pods' fetch-model, every served version", () => {
    const r = R("canary");
    const init = container(regJob(r), "fetch-models");
    const fetch = (track) => container(r.get("Deployment", `maas-minilm-${track}`), "fetch-model");
    eq(init.image, fetch("stable").image, "models image");
    eq(init.command.at(-1), fetch("stable").command.at(-1) + fetch("canary").command.at(-1), "copy script");
    eq(regJob(r).spec.template.spec.volumes.find((v) => v.name === "model-source"), { name: "model-source", emptyDir: {} }, "emptyDir");
  });
  check("registration: pvc and hostPath sources mounted exactly as the inference Pods mount them", () => {
    for (const [n, model] of [["features", "minilm"], ["hostpath", "minilm"]]) {
      const r = R(n);
      const job = regJob(r);
      const dep = r.get("Deployment", `maas-${model}-stable`);
      eq(job.spec.template.spec.initContainers, undefined, `${n}: init container`);
      eq(container(job, "register").volumeMounts.find((m) => m.name === "model-source"), container(dep, "fetch-model").volumeMounts.find((m) => m.name === "model-source"), `${n}: mount`);
      eq(job.spec.template.spec.volumes.find((v) => v.name === "model-source"), dep.spec.template.spec.volumes.find((v) => v.name === "model-source"), `${n}: volume`);
    }
    assert(container(regJob(R("features")), "register").command.at(-1).includes("--model minilm --model tiny"), "every model");
  });
  check("registration: TLS registry trusted through the router's CA volume; NetworkPolicy admits the Job", () => {
    const r = R("registry-tls-own-ca");
    const job = regJob(r);
    assert(container(job, "register").command.at(-1).includes("--ca /etc/maas/registry-ca/ca.crt"), "no --ca");
    eq(job.spec.template.spec.volumes.find((v) => v.name === "registry-ca"), r.get("Deployment", "maas-router").spec.template.spec.volumes.find((v) => v.name === "registry-ca"), "CA volume");
    const np = R("features").get("NetworkPolicy", "maas-registry");
    assert(np.spec.ingress[0].from.some((p) => p.podSelector && matches(p.podSelector.matchLabels, regJob(R("features")).spec.template.metadata.labels)), "Job cannot reach the registry");
  });
  check("registration: registration.enabled=false renders no Job and no NetworkPolicy peer for it", () => {
    const r = new Render("no-registration", [join(testValues, "features.yaml")], ["registration.enabled=false"]);
    assert(!r.all("Job").length, "Job rendered");
    assert(!JSON.stringify(r.get("NetworkPolicy", "maas-registry")).includes("register-models"), "NetworkPolicy peer rendered");
  });

  // Schema refuses bad values
  // Each bad input must fail with the expected message (not just any error).
  const yamlModels = (m) => `models:\n${m}`;
  const bad = [
    ["canary weight 150", { file: P("canary"), sets: ["models[0].canary.weight=150"], expect: "/models/0/canary/weight': maximum: got 150, want 100" }],
    ["canary weight -1", { file: P("canary"), sets: ["models[0].canary.weight=-1"], expect: "minimum: got -1, want 0" }],
    ["canary weight not a number", { file: P("canary"), sets: ["models[0].canary.weight=lots"], expect: "/models/0/canary/weight': got string, want integer" }],
    ["unknown track key (models[0].shadow)", { file: P("canary"), sets: ["models[0].shadow.version=3", "models[0].shadow.weight=5"], expect: "additional properties 'shadow' not allowed" }],
    ["unknown key in a track", { file: P("canary"), sets: ["models[0].canary.wieght=5"], expect: "additional properties 'wieght' not allowed" }],
    ["canary without a version", { yaml: yamlModels('  - name: minilm\n    stable: {version: "1"}\n    canary: {weight: 10}\n'), expect: "/models/0/canary': missing property 'version'" }],
    ["canary without a weight", { yaml: yamlModels('  - name: minilm\n    stable: {version: "1"}\n    canary: {version: "2"}\n'), expect: "/models/0/canary': missing property 'weight'" }],
    ["stable without a version", { yaml: yamlModels("  - name: minilm\n    stable: {replicas: 2}\n"), expect: "/models/0/stable': missing property 'version'" }],
    ["model without a stable track", { yaml: yamlModels('  - name: minilm\n    canary: {version: "2", weight: 10}\n'), expect: "/models/0': missing property 'stable'" }],
    ["version that is not a number", { file: P("cpu"), sets: ["models[0].stable.version=latest"], expect: "'latest' does not match pattern" }],
    ["model name with capitals", { file: P("cpu"), sets: ["models[0].name=MiniLM"], expect: "'MiniLM' does not match pattern" }],
    ["no models", { yaml: "models: []\n", expect: "/models': minItems: got 0, want 1" }],
    ["duplicate model", { yaml: yamlModels('  - name: minilm\n    stable: {version: "1"}\n  - name: minilm\n    stable: {version: "2"}\n'), expect: 'the name "minilm" appears twice' }],
    ["unknown top-level key", { file: P("cpu"), sets: ["modle.name=x"], expect: "additional properties 'modle' not allowed" }],
    ["unknown model source", { file: P("cpu"), sets: ["modelSource.type=s3"], expect: "/modelSource/type': value must be one of" }],
    ["pvc source without a claim", { file: P("cpu"), sets: ["modelSource.type=pvc"], expect: "modelSource.pvc.claimName is required" }],
    ["unknown registry store", { file: P("cpu"), sets: ["registry.db.kind=mysql"], expect: "/registry/db/kind': value must be one of" }],
    ["postgresql without a URL", { file: P("cpu"), sets: ["registry.db.kind=postgresql", "registry.db.postgresql.password=x"], expect: "registry.db.postgresql.url is required" }],
    ["postgresql without password or Secret", { file: P("cpu"), sets: ["registry.db.kind=postgresql", "registry.db.postgresql.url=jdbc:postgresql://pg/maas"], expect: "registry.db.postgresql.password or registry.db.postgresql.existingSecret is required" }],
    ["GPU count 0", { file: P("gpu"), sets: ["gpu.count=0"], expect: "/gpu/count': minimum: got 0, want 1" }],
    ["bad token line", { file: P("cpu"), sets: ["auth.extraTokens[0]=alice:root:x"], expect: "'alice:root:x' does not match pattern" }],
    ["tests.model not a model", { file: P("cpu"), sets: ["tests.model=nope"], expect: 'tests.model "nope" is not one of models[].name' }],
    ["two shadow rules for one model", { file: P("cpu"), sets: ["router.shadow[0].model=minilm", "router.shadow[0].version=2", "router.shadow[0].share=1", "router.shadow[1].model=minilm", "router.shadow[1].version=3", "router.shadow[1].share=1"], expect: "router.shadow: model \"minilm\" has two rules" }],
    ["shadow share above 1", { file: P("cpu"), sets: ["router.shadow[0].model=minilm", "router.shadow[0].version=2", "router.shadow[0].share=2"], expect: "/router/shadow/0/share" }],
    ["tracing endpoint without a scheme", { file: P("cpu"), sets: ["tracing.enabled=true", "tracing.otlpEndpoint=collector:4317"], expect: "/tracing/otlpEndpoint" }],
    ["tracing sampler ratio above 1", { file: P("cpu"), sets: ["tracing.samplerRatio=2"], expect: "/tracing/samplerRatio" }],
    ["router.tracing (moved to the top-level tracing)", { file: P("cpu"), sets: ["router.tracing.enabled=true"], expect: "additional properties 'tracing' not allowed" }],
    ["registry TLS without a Secret", { file: P("cpu"), sets: ["registry.tls.enabled=true"], expect: "registry.tls.secretName is required when registry.tls.enabled=true" }],
    ["registry TLS Secret name that is no Kubernetes name", { file: P("cpu"), sets: ["registry.tls.enabled=true", "registry.tls.secretName=Registry_TLS"], expect: "/registry/tls/secretName': 'Registry_TLS' does not match pattern" }],
    ["unknown registry TLS key", { file: P("cpu"), sets: ["registry.tls.cert=/x.pem"], expect: "/registry/tls': additional properties 'cert' not allowed" }],
    ["router TLS without a Secret or cert-manager", { file: P("cpu"), sets: ["router.tls.enabled=true"], expect: "router.tls.secretName (an existing kubernetes.io/tls Secret) or router.tls.certManager.enabled=true is required" }],
    ["pod TLS with cert-manager but no issuer", { file: P("cpu"), sets: ["inference.tls.enabled=true", "inference.tls.certManager.enabled=true"], expect: "inference.tls.certManager.issuerRef.name is required" }],
    ["client certificates without a CA", { file: P("cpu"), sets: ["router.tls.enabled=true", "router.tls.secretName=t", "router.tls.clientAuth=REQUIRED"], expect: "router.tls.clientCaSecretName is required when router.tls.clientAuth=REQUIRED" }],
    ["client certificates without TLS", { file: P("cpu"), sets: ["router.tls.clientAuth=REQUEST", "router.tls.clientCaSecretName=ca"], expect: "router.tls.clientAuth=REQUEST needs router.tls.enabled=true" }],
    ["client auth misspelt", { file: P("cpu"), sets: ["router.tls.clientAuth=required"], expect: "/router/tls/clientAuth': value must be one of" }],
    ["probe port on the gRPC port", { file: P("cpu"), sets: ["router.tls.enabled=true", "router.tls.secretName=t", "router.tls.probePort=8001"], expect: "router.tls.probePort 8001 collides" }],
    ["cert-manager issuer kind misspelt", { file: P("cpu"), sets: ["router.tls.certManager.issuerRef.kind=clusterissuer"], expect: "/router/tls/certManager/issuerRef/kind': value must be one of" }],
    ["toleration operator misspelt", { file: P("gpu"), sets: ["gpu.tolerations[0].key=nvidia.com/gpu", "gpu.tolerations[0].operator=exists"], expect: "/gpu/tolerations/0/operator': value must be one of 'Exists', 'Equal'" }],
    ["toleration with an unknown key", { file: P("gpu"), sets: ["gpu.tolerations[0].key=nvidia.com/gpu", "gpu.tolerations[0].efect=NoSchedule"], expect: "/gpu/tolerations/0': additional properties 'efect' not allowed" }],
    ["node selector value not a string (unquoted true)", { yaml: 'gpu:\n  nodeSelector:\n    nvidia.com/gpu.present: true\n', expect: "/gpu/nodeSelector/nvidia.com~1gpu.present': got boolean, want string" }],
    ["GPU resource name without a domain", { file: P("gpu"), sets: ["gpu.resourceName=gpu"], expect: "/gpu/resourceName': 'gpu' does not match pattern" }],
    ["RuntimeClass name that is no Kubernetes name", { file: P("gpu"), sets: ["gpu.runtimeClassName=NVIDIA"], expect: "/gpu/runtimeClassName': 'NVIDIA' does not match pattern" }],
    ["env as a list of {name, value}", { yaml: "inference:\n  env:\n    - {name: MAAS_X, value: \"1\"}\n", expect: "/inference/env': got array, want object" }],
    ["env value that is a map", { yaml: "router:\n  env:\n    MAAS_X: {a: 1}\n", expect: "/router/env/MAAS_X': got object, want boolean or number or string" }],
    ["pod label value with a space", { file: P("cpu"), sets: ["inference.podLabels.team=ml platform"], expect: "/inference/podLabels/team': 'ml platform' does not match pattern" }],
    ["PVC access mode misspelt", { file: P("cpu"), sets: ["registry.db.h2.persistence.accessModes[0]=ReadWriteOne"], expect: "/registry/db/h2/persistence/accessModes/0': value must be one of" }],
    ["StorageClass name with capitals", { file: P("cpu"), sets: ["registry.db.h2.persistence.storageClass=Fast_SSD"], expect: "/registry/db/h2/persistence/storageClass': 'Fast_SSD' does not match pattern" }],
    ["ServiceMonitor interval without a unit", { file: P("cpu"), sets: ["serviceMonitor.interval=30"], expect: "/serviceMonitor/interval" }],
    ["PDB maxUnavailable that is neither a count nor a percentage", { file: P("cpu"), sets: ["inference.pdb.maxUnavailable=half"], expect: "/inference/pdb/maxUnavailable" }],
    ["clusterChecks not a boolean", { file: P("cpu"), sets: ["clusterChecks=maybe"], expect: "/clusterChecks': got string, want boolean" }],
    ["rollout step weight over 100", { file: P("rollout"), sets: ["models[0].canary.rollout.steps[0].weight=150"], expect: "/models/0/canary/rollout/steps/0/weight': maximum: got 150, want 100" }],
    ["rollout hold that is no duration", { file: P("rollout"), sets: ["models[0].canary.rollout.steps[0].hold=5 minutes"], expect: "/models/0/canary/rollout/steps/0/hold" }],
    ["rollout with several registry replicas", { file: P("rollout"), sets: ["registry.db.kind=postgresql", "registry.db.postgresql.url=jdbc:postgresql://pg/maas", "registry.db.postgresql.password=x", "registry.replicas=2"], expect: 'models: "minilm" declares a canary rollout, which one registry replica runs' }],
    ["rollout gate misspelt", { file: P("rollout"), sets: ["models[0].canary.rollout.analysis.maxErrorRate=0.1"], expect: "/models/0/canary/rollout/analysis': additional properties 'maxErrorRate' not allowed" }],
    // Helm replaces a list given by --set unless a values file supplies it: the runbook always passes -f.
    ["runbook weight --set without the values file (list replaced)", { sets: ["models[0].canary.weight=25"], expect: "/models/0': missing properties 'name', 'stable'" }],
  ];
  for (const [name, c] of bad) {
    check(`schema refuses: ${name}`, () => {
      const files = c.file ? [c.file] : [];
      if (c.yaml) {
        const f = join(work, `bad-${name.replace(/\W+/g, "-")}.yaml`);
        writeFileSync(f, c.yaml);
        files.push(f);
      }
      const r = run(HELM, ["template", "maas", chart, ...valueArgs(files, c.sets || [])]);
      assert(r.status !== 0, "rendered without error");
      assert(r.stderr.includes(c.expect), `expected "${c.expect}" in:\n${r.stderr}`);
    });
  }
  check("schema accepts integer versions and weights as --set gives them", () => {
    const r = new Render("int-versions", [P("canary")], ["models[0].stable.version=3", "models[0].canary.version=4", "models[0].canary.weight=0"]);
    eq(r.routing(), { models: [{ name: "minilm", stable: "3", canary: "4", weight: 0 }] }, "routing.yaml");
  });

  check("helm install --dry-run=client refuses a bad values file with the schema's message (nothing rendered, nothing applied)", () => {
    const r = run(HELM, ["install", "maas", chart, "--namespace", "maas", "--dry-run=client", "-f", P("canary"), "--set", "models[0].canary.weight=150"]);
    assert(r.status !== 0, "installed");
    assert(r.stderr.includes("values don't meet the specifications of the schema") && r.stderr.includes("/models/0/canary/weight': maximum: got 150, want 100"), r.stderr);
    assert(!r.stdout.includes("kind:"), `rendered:\n${r.stdout}`);
  });

  // An upgrade that changes nothing restarts nothing: pod templates are a function of the values.
  check("every pod template is the same in two renders of the same values (no random or looked-up data in them)", () => {
    for (const n of ["cpu", "canary", "features", "gpu"]) {
      const again = new Render(`${n}-again`, ...scenarios[n]);
      const pods = (r) => r.objs.filter((o) => o.spec?.template || o.kind === "Pod").map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template ?? o.spec]);
      eq(pods(again), pods(R(n)), `${n}: pod templates`);
    }
  });
  check("no checksum annotation over the random auth Secret (the registry re-reads its tokens file instead)", () => {
    for (const n of ["cpu", "features", "postgres"]) {
      for (const d of R(n).all("Deployment")) {
        const ann = d.spec.template.metadata.annotations || {};
        eq(Object.keys(ann).filter((k) => k.startsWith("checksum/")), [], `${n} ${d.metadata.name} checksum annotations`);
      }
    }
    assert(!readFileSync(join(chart, "templates", "registry", "deployment.yaml"), "utf8").includes("auth-secret.yaml"), "registry template includes the auth Secret");
  });

  // Cluster checks (templates/cluster-checks.yaml). Offline, lookup returns nothing and the checks
  // are skipped; `--api-versions apiregistration.k8s.io/v1` makes the chart believe it talks to a
  // cluster (that is how it tells), whose lookups then find nothing: no RuntimeClass, no
  // StorageClass, no PersistentVolume, no claim.
  const connected = ["--api-versions", "apiregistration.k8s.io/v1"];
  const tpl = (files, sets, extra = []) => run(HELM, ["template", "maas", chart, "--namespace", "maas", ...valueArgs(files, sets), ...extra]);
  const refuses = (r, text) => {
    assert(r.status !== 0, "rendered without error");
    assert(r.stderr.includes(text), `expected "${text}" in:\n${r.stderr}`);
  };
  check("cluster checks: skipped offline (helm template renders every profile without a cluster)", () => {
    for (const p of ["cpu", "gpu"]) assert(tpl([P(p)], []).status === 0, p);
    assert(tpl([join(testValues, "features.yaml")], []).status === 0, "features (ServiceMonitor)");
  });
  check("cluster checks: GPU profile with a RuntimeClass the cluster lacks fails with what to do", () => {
    const r = tpl([P("gpu")], ["registry.db.h2.persistence.enabled=false"], connected);
    refuses(r, 'gpu.runtimeClassName: the cluster has no RuntimeClass "nvidia" (it has: none), so the API server would refuse every GPU inference Pod (minilm) at admission');
    refuses(r, 'set gpu.runtimeClassName=""');
    assert(tpl([P("gpu")], ["registry.db.h2.persistence.enabled=false", "gpu.runtimeClassName="], connected).status === 0, "no runtimeClassName: no check");
    assert(tpl([P("cpu")], ["registry.db.h2.persistence.enabled=false", "gpu.runtimeClassName=nvidia"], connected).status === 0, "CPU models: no check");
  });
  check("cluster checks: registry PVC without a provisioner or PersistentVolume fails with what to do", () => {
    refuses(tpl([P("cpu")], [], connected), "registry.db.h2.persistence: the cluster has no default StorageClass and no Available PersistentVolume without a class, so the registry's PersistentVolumeClaim maas-registry-data would stay Pending");
    refuses(tpl([P("cpu")], ["registry.db.h2.persistence.storageClass=fast"], connected), 'registry.db.h2.persistence.storageClass: StorageClass "fast" does not exist');
    refuses(tpl([P("cpu")], ["registry.db.h2.persistence.existingClaim=registry-data"], connected), 'registry.db.h2.persistence.existingClaim: there is no PersistentVolumeClaim "registry-data" in namespace "maas"');
    assert(tpl([P("cpu")], ["registry.db.h2.persistence.enabled=false"], connected).status === 0, "emptyDir: no check");
    assert(tpl([join(testValues, "postgres.yaml")], [], connected).status === 0, "postgresql: no check");
  });
  check("cluster checks: a model source claim that does not exist fails", () => {
    refuses(tpl([P("cpu")], ["registry.db.h2.persistence.enabled=false", "modelSource.type=pvc", "modelSource.pvc.claimName=models"], connected), 'modelSource.pvc.claimName: there is no PersistentVolumeClaim "models" in namespace "maas"');
  });
  check("cluster checks: ServiceMonitor without the Prometheus Operator's CRD fails; with it, renders", () => {
    const sets = ["serviceMonitor.enabled=true", "registry.db.h2.persistence.enabled=false"];
    refuses(tpl([P("cpu")], sets, connected), "serviceMonitor.enabled=true, but the cluster does not serve monitoring.coreos.com/v1 ServiceMonitor");
    const ok = tpl([P("cpu")], sets, [...connected, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"]);
    assert(ok.status === 0 && ok.stdout.includes("kind: ServiceMonitor"), ok.stderr);
  });
  check("cluster checks: clusterChecks=false skips them all", () => {
    const r = tpl([P("gpu")], ["clusterChecks=false", "serviceMonitor.enabled=true"], connected);
    assert(r.status === 0, r.stderr);
  });

  // Plain manifests in k8s/
  check("k8s/: committed plain manifests are up to date with the chart (k8s/generate.sh)", () => {
    const out = join(work, "k8s");
    const g = run(join(repo, "k8s", "generate.sh"), ["--out", out], { env: { ...helmEnv, HELM } });
    assert(g.status === 0, g.stderr);
    for (const p of ["cpu", "gpu"]) {
      eq(readdirSync(join(repo, "k8s", p)).sort(), readdirSync(join(out, p)).sort(), `files in k8s/${p}`);
      for (const f of readdirSync(join(out, p))) {
        const committed = join(repo, "k8s", p, f);
        assert(existsSync(committed), `k8s/${p}/${f} is missing: run k8s/generate.sh`);
        assert(readFileSync(committed, "utf8") === readFileSync(join(out, p, f), "utf8"), `k8s/${p}/${f} is stale: run k8s/generate.sh`);
      }
    }
  });
  for (const p of ["cpu", "gpu"]) {
    const k = run(KUBECTL, ["kustomize", join(repo, "k8s", p)]);
    check(`k8s/${p}: kubectl kustomize builds it`, () => assert(k.status === 0, k.stderr));
    if (k.status === 0) {
      const objs = docs(k.stdout);
      const plain = { name: `k8s/${p}`, objs };
      await validateAll(plain);
      check(`k8s/${p}: no Helm hooks, chart-created Secret or random tokens; existing auth Secret referenced`, () => {
        assert(!objs.some((o) => o.metadata.annotations?.["helm.sh/hook"]), "hook rendered");
        assert(!objs.some((o) => o.kind === "Secret"), "Secret rendered");
        for (const o of objs) if (!["ClusterRole", "ClusterRoleBinding"].includes(o.kind)) eq(o.metadata.namespace, "maas", `${o.kind}/${o.metadata.name} namespace`);
        const env = envOf(container(objs.find((o) => o.kind === "Deployment" && o.metadata.name === "maas-router"), "router"));
        eq(env.MAAS_REGISTRY_TOKEN.secretKeyRef.name, "maas-auth", "router token Secret");
        const router = objs.find((o) => o.kind === "Deployment" && o.metadata.name === "maas-router");
        eq(router.spec.template.spec.volumes.find((v) => v.name === "api-keys").secret.secretName, "maas-api-keys", "API keys Secret");
        eq(JSON.stringify(objs).includes("nvidia"), p === "gpu", "GPU settings only in the gpu profile");
      });
    }
  }

  // Operator docs
  check("docs/kubernetes.md documents every values key and the runbook commands", () => {
    const doc = readFileSync(join(repo, "docs", "kubernetes.md"), "utf8");
    const values = parseYaml(readFileSync(join(chart, "values.yaml"), "utf8"));
    const missing = [];
    for (const [k, v] of Object.entries(values)) {
      if (!doc.includes("`" + k)) missing.push(k);
      if (v && typeof v === "object" && !Array.isArray(v) && k !== "podSecurityContext" && k !== "containerSecurityContext") {
        for (const k2 of Object.keys(v)) {
          if (!doc.includes("`" + `${k}.${k2}`) && !(doc.includes("`." + k2) && doc.includes("`" + `${k}.`))) missing.push(`${k}.${k2}`);
        }
      }
    }
    eq(missing, [], "undocumented values keys");
    for (const cmd of ["helm upgrade maas helm/maas -n maas -f my-values.yaml --set models[0].canary.weight=25", "helm rollback maas", "kubectl -n maas rollout undo deployment/maas-minilm-stable", "helm test maas",
      // after a rollout undo (Helm 4, server-side apply: kubectl owns the fields it restored)
      "helm upgrade maas helm/maas -n maas -f my-values.yaml --force-conflicts", "--force-conflicts` to the revision the undo restored"]) {
      assert(doc.includes(cmd), `runbook lacks: ${cmd}`);
    }
    for (const f of readdirSync(profiles)) assert(doc.includes(`helm/values/${f}`), `values file helm/values/${f} not documented`);
  });

  // Dockerfiles
  const dockerDir = join(repo, "docker");
  const dockerfiles = readdirSync(dockerDir).filter((f) => f.endsWith(".Dockerfile")).sort();
  check("docker/: the six Dockerfiles exist", () =>
    eq(dockerfiles, ["inference-service-gpu.Dockerfile", "inference-service.Dockerfile", "maasctl.Dockerfile", "model-registry.Dockerfile", "models.Dockerfile", "router-service.Dockerfile"], "Dockerfiles"));
  const lint = run(join(here, "node_modules", ".bin", "dockerfilelint"), ["-j", ...dockerfiles.map((f) => join(dockerDir, f))]);
  let lintReport = null;
  try {
    lintReport = JSON.parse(lint.stdout);
  } catch {
    /* reported below */
  }
  for (const f of dockerfiles) {
    check(`dockerfilelint: docker/${f} has no issues`, () => {
      assert(lintReport, `dockerfilelint output is not JSON: ${lint.stdout}${lint.stderr}`);
      const entry = lintReport.files.find((x) => basename(x.file) === f);
      assert(entry, "not linted");
      eq(entry.issues_count, 0, `issues ${JSON.stringify(entry.issues)}`);
    });
    check(`docker/${f}: runs as a non-root user`, () => {
      const text = readFileSync(join(dockerDir, f), "utf8");
      const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
      assert(users.length && !/^(root|0)(:|$)/.test(users.at(-1)), `last USER is ${users.at(-1)}`);
      assert(existsSync(join(dockerDir, `${f}.dockerignore`)), "no per-Dockerfile .dockerignore");
    });
  }
  check("docker/: service images copy quarkus-app and expose the contract ports", () => {
    const t = (f) => readFileSync(join(dockerDir, f), "utf8");
    for (const [f, mod, ports] of [["inference-service.Dockerfile", "inference-service", "8001 8000"], ["inference-service-gpu.Dockerfile", "inference-service", "8001 8000"],
      ["router-service.Dockerfile", "router-service", "8001 8000"], ["model-registry.Dockerfile", "model-registry", "9001 9000"]]) {
      assert(t(f).includes(`COPY ${mod}/target/quarkus-app/`), `${f}: does not copy ${mod}/target/quarkus-app/`);
      assert(t(f).includes(`EXPOSE ${ports}`), `${f}: EXPOSE ${ports}`);
      assert(t(f).includes("${JAVA_OPTS}"), `${f}: ignores JAVA_OPTS`);
    }
    assert(t("maasctl.Dockerfile").includes("COPY maasctl/target/maasctl.jar") && t("maasctl.Dockerfile").includes("${JAVA_OPTS}") && t("maasctl.Dockerfile").includes('\\"$@\\"'),
      "maasctl.Dockerfile: copies the shaded jar, honours JAVA_OPTS, passes its arguments through");
    assert(/^FROM nvidia\/cuda:12\.[0-9.]+-cudnn-runtime/m.test(t("inference-service-gpu.Dockerfile")), "GPU image not on a CUDA 12 cuDNN runtime base");
    assert(t("inference-service-gpu.Dockerfile").includes("mvn -B -Pgpu") && t("inference-service-gpu.Dockerfile").includes("MAAS_DEVICE=cuda"), "GPU image: -Pgpu build and MAAS_DEVICE=cuda");
  });

  rmSync(work, { recursive: true, force: true });
  console.log(`helm: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL  unexpected error: ${e.stack || e}`);
  console.log(`helm: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
