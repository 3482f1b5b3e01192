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
{{- define "maas.registry.fullname" -}}{{ include "maas.fullname" . | trunc 54 | trimSuffix "-" }}-registry{{- end }}
{{- define "maas.routing.configmap" -}}{{ include "maas.fullname" . | trunc 55 | trimSuffix "-" }}-routing{{- end }}
{{- define "maas.auth.secret" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecret }}{{ else }}{{ include "maas.fullname" . | trunc 58 | trimSuffix "-" }}-auth{{ end }}
{{- end }}
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
