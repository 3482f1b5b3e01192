{{/* Chart name. */}}
{{- define "maas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name. */}}
{{- define "maas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "maas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "maas.labels" -}}
helm.sh/chart: {{ include "maas.chart" . }}
app.kubernetes.io/name: {{ include "maas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: maas
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component. Call with (dict "ctx" $ "component" "router"). */}}
{{- define "maas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "maas.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Resource names. */}}
{{- define "maas.router.fullname" -}}{{ include "maas.fullname" . | trunc 56 | trimSuffix "-" }}-router{{- end }}
{{- define "maas.router.apiKey" -}}{{ include "maas.fullname" . | trunc 55 | trimSuffix "-" }}-api-key{{- end }}
{{- define "maas.router.apiKeys" -}}
{{- if .Values.router.auth.apiKeys.existingSecret }}{{ .Values.router.auth.apiKeys.existingSecret }}{{ else }}{{ include "maas.fullname" . | trunc 54 | trimSuffix "-" }}-api-keys{{ end }}
{{- end }}
{{- define "maas.router.policy" -}}{{ include "maas.fullname" . | trunc 50 | trimSuffix "-" }}-access-policy{{- end }}
{{- define "maas.registry.fullname" -}}{{ include "maas.fullname" . | trunc 54 | trimSuffix "-" }}-registry{{- end }}
{{- define "maas.routing.configmap" -}}{{ include "maas.fullname" . | trunc 55 | trimSuffix "-" }}-routing{{- end }}
{{- define "maas.auth.secret" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecret }}{{ else }}{{ include "maas.fullname" . | trunc 58 | trimSuffix "-" }}-auth{{ end }}
{{- end }}
{{- define "maas.registration.job" -}}{{ include "maas.fullname" . | trunc 47 | trimSuffix "-" }}-register-models{{- end }}
{{- define "maas.inference.serviceAccount" -}}{{ include "maas.fullname" . | trunc 53 | trimSuffix "-" }}-inference{{- end }}

{{/* Name of the Deployment/Service of one model track. Call with (dict "ctx" $ "model" $m "track" "stable"). */}}
{{- define "maas.inference.fullname" -}}
{{- printf "%s-%s-%s" (include "maas.fullname" .ctx) .model.name .track | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Image reference. Call with (dict "ctx" $ "image" .Values.images.router). */}}
{{- define "maas.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion (toString (default "" .image.tag))) }}
{{- end }}

{{/* Whether a model runs on GPU: models[].gpu.enabled wins over gpu.enabled. */}}
{{- define "maas.model.gpu" -}}
{{- $enabled := .ctx.Values.gpu.enabled }}
{{- if and .model.gpu (hasKey .model.gpu "enabled") (not (kindIs "invalid" .model.gpu.enabled)) }}
{{- $enabled = .model.gpu.enabled }}
{{- end }}
{{- if $enabled }}true{{ end }}
{{- end }}

{{/* Peers list for NetworkPolicy "from". */}}
{{- define "maas.routerPeer" -}}
- podSelector:
    matchLabels:
      {{- include "maas.selectorLabels" (dict "ctx" . "component" "router") | nindent 6 }}
{{- end }}

{{/* OpenTelemetry env of the router and inference containers when tracing.enabled (root context). */}}
{{- define "maas.tracingEnv" -}}
- name: QUARKUS_OTEL_SDK_DISABLED
  value: "false"
- name: QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.tracing.otlpEndpoint | quote }}
- name: QUARKUS_OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.tracing.samplerRatio | toString | quote }}
{{- end }}

{{/* Router shadow rules (MAAS_SHADOW): model:version=share;... from router.shadow. */}}
{{- define "maas.router.shadowRules" -}}
{{- $rules := list -}}
{{- range . -}}
{{- $rules = append $rules (printf "%s:%s=%s" .model (toString .version) (toString .share)) -}}
{{- end -}}
{{- join ";" $rules -}}
{{- end -}}

{{/*
Copies one model version from the model source (/models) into a repository at /repository:
<model>/<version> and the files of <model> itself (config.pbtxt and what it names, e.g. a labels
file). A version needs its model.onnx, or a config.pbtxt (a pipeline, platform "ensemble", or a
built-in step such as backend "tokenizer", whose version folder may hold no model file). The
fetch-model init container of the inference Pods and the registration Job. Call with
(dict "model" "minilm" "version" "1").
*/}}
{{- define "maas.modelSource.copyVersion" -}}
src=/models/{{ .model }}
dst=/repository/{{ .model }}
test -d "$src/{{ .version }}" || { echo "no $src/{{ .version }} in the model source" >&2; exit 1; }
test -f "$src/{{ .version }}/model.onnx" || test -f "$src/config.pbtxt" || { echo "no $src/{{ .version }}/model.onnx, and no $src/config.pbtxt for a pipeline or built-in step, in the model source" >&2; exit 1; }
mkdir -p "$dst" && rm -rf "$dst/{{ .version }}"
cp -R "$src/{{ .version }}" "$dst/{{ .version }}"
for f in "$src"/*; do if [ -f "$f" ]; then cp "$f" "$dst/"; fi; done
echo "model {{ .model }} version {{ .version }} copied to $dst"
{{- end }}

{{/* Mount of the model source at /models (modelSource pvc/hostPath; empty for image). Root context. */}}
{{- define "maas.modelSource.mount" -}}
{{- if ne .Values.modelSource.type "image" }}
- name: model-source
  mountPath: /models
  readOnly: true
  {{- with .Values.modelSource.pvc.subPath }}
  subPath: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The model-source volume (modelSource pvc/hostPath; empty for image, whose files come from images.models). Root context. */}}
{{- define "maas.modelSource.volume" -}}
{{- if eq .Values.modelSource.type "pvc" }}
- name: model-source
  persistentVolumeClaim:
    claimName: {{ required "modelSource.pvc.claimName is required when modelSource.type=pvc" .Values.modelSource.pvc.claimName }}
    readOnly: true
{{- else if eq .Values.modelSource.type "hostPath" }}
- name: model-source
  hostPath:
    path: {{ required "modelSource.hostPath.path is required when modelSource.type=hostPath" .Values.modelSource.hostPath.path }}
    type: Directory
{{- end }}
{{- end }}

{{/* The registry CA volume of registry clients (router, registration Job) when registry.tls.enabled. Root context. */}}
{{- define "maas.registryCaVolume" -}}
# Only the CA: the registry's private key never reaches client pods.
- name: registry-ca
  secret:
    secretName: {{ .Values.registry.tls.caSecretName | default .Values.registry.tls.secretName }}
    defaultMode: 0440
    items:
      - key: {{ .Values.registry.tls.caKey }}
        path: ca.crt
{{- end }}

{{/*
"true" when the chart is rendered against a live cluster (helm install/upgrade, --dry-run=server),
empty offline (helm template, helm lint, --dry-run=client). Offline, .Capabilities.APIVersions is
Helm's built-in list, which lacks apiregistration.k8s.io/v1; every kube-apiserver serves it (the
aggregation layer), and API discovery is open to every authenticated user.
*/}}
{{- define "maas.cluster.connected" -}}
{{- if .Capabilities.APIVersions.Has "apiregistration.k8s.io/v1" }}true{{ end }}
{{- end }}

{{/* TLS Secrets of the router and the inference Pods (router.tls / inference.tls): the given name, or the one cert-manager writes. Root context. */}}
{{- define "maas.router.tlsSecret" -}}{{ .Values.router.tls.secretName | default (printf "%s-tls" (include "maas.router.fullname" .)) }}{{- end }}
{{- define "maas.inference.tlsSecret" -}}{{ .Values.inference.tls.secretName | default (printf "%s-inference-tls" (include "maas.fullname" . | trunc 49 | trimSuffix "-")) }}{{- end }}
{{/* The name every inference Pod's certificate carries and the router verifies (pods are dialled by IP). */}}
{{- define "maas.inference.tlsName" -}}{{ printf "%s-inference.%s.svc" (include "maas.fullname" . | trunc 53 | trimSuffix "-") .Release.Namespace }}{{- end }}
