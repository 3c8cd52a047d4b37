{{/* Names: <release>-gather-sync, or the release name when it already holds the chart's name. */}}
{{- define "gather-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gather-sync.fullname" -}}
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

{{- define "gather-sync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "worker"). */}}
{{- define "gather-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gather-sync.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gather-sync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: gather-sync
{{ include "gather-sync.selectorLabels" . }}
{{- end }}

{{/* The Secret holding GATHER_DATABASE_URL and its key. */}}
{{- define "gather-sync.databaseSecret" -}}
{{- default (printf "%s-secrets" (include "gather-sync.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "gather-sync.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{- define "gather-sync.kafkaSecret" -}}
{{- default (printf "%s-secrets" (include "gather-sync.fullname" .)) .Values.kafka.sasl.existingSecret }}
{{- end }}

{{- define "gather-sync.kafkaSecretKey" -}}
{{- if .Values.kafka.sasl.existingSecret }}{{ .Values.kafka.sasl.passwordKey }}{{ else }}kafka-sasl-password{{ end }}
{{- end }}

{{/* True when the chart must create its own Secret. */}}
{{- define "gather-sync.createSecret" -}}
{{- if or (not .Values.database.existingSecret) (and .Values.kafka.sasl.mechanism (not .Values.kafka.sasl.existingSecret)) }}true{{ end }}
{{- end }}

{{/* KAFKA_* settings every process shares (connectors/kafka/settings.py). */}}
{{- define "gather-sync.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
- name: KAFKA_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: KAFKA_CLIENT_ID
  value: {{ .Values.kafka.clientId | quote }}
{{- with .Values.kafka.sasl }}
{{- if .mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ .username | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "gather-sync.kafkaSecret" $ }}
      key: {{ include "gather-sync.kafkaSecretKey" $ }}
{{- end }}
{{- end }}
{{- end }}

{{/* GATHER_* settings of the store (connectors/gather/settings.py). */}}
{{- define "gather-sync.databaseEnv" -}}
- name: GATHER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gather-sync.databaseSecret" . }}
      key: {{ include "gather-sync.databaseSecretKey" . }}
- name: GATHER_POOL_SIZE
  value: {{ .Values.database.poolSize | quote }}
{{- end }}

{{/* Env of every process: Kafka, the metrics port, how long a stuck loop takes to fail /livez,
extraEnv, then the component's own env. */}}
{{- define "gather-sync.commonEnv" -}}
{{ include "gather-sync.kafkaEnv" .root }}
- name: METRICS_PORT
  value: {{ .root.Values.metrics.port | quote }}
- name: HEALTH_STALE_AFTER
  value: {{ .root.Values.probes.staleAfterSeconds | quote }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every workload; call with (dict "root" $ "values" .Values.sink). */}}
{{- define "gather-sync.podSettings" -}}
automountServiceAccountToken: false
{{- with .root.Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container-level settings: image, security, the metrics port and its probes: /readyz (its
consumer in its group, producer delivering, database reachable, tenants subscribed) and /livez (its
loops turning), which each process serves on the metrics port; the dashboard passes "health"
"/healthz" for both. */}}
{{- define "gather-sync.containerSettings" -}}
{{- $probes := .root.Values.probes }}
image: {{ include "gather-sync.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .values.resources | nindent 2 }}
{{- if $probes.enabled }}
readinessProbe:
  httpGet: {path: {{ .health | default "/readyz" }}, port: metrics}
  {{- toYaml $probes.readiness | nindent 2 }}
livenessProbe:
  httpGet: {path: {{ .health | default "/livez" }}, port: metrics}
  {{- toYaml $probes.liveness | nindent 2 }}
{{- end }}
{{- end }}

{{- define "gather-sync.metricsPort" -}}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
  protocol: TCP
{{- end }}

{{/* /tmp as an emptyDir: the root filesystem is read-only. */}}
{{- define "gather-sync.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "gather-sync.tmpVolume" -}}
- name: tmp
  emptyDir: {}
{{- end }}

{{/* What logs in to the tenants' orgs (the listener, and `tenants apply` checking each config
against its org's describe): the secrets a config references, as env and as files. */}}
{{- define "gather-sync.orgEnvFrom" -}}
{{- with .Values.listener.envFromSecrets }}
envFrom:
  {{- range . }}
  - secretRef:
      name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "gather-sync.orgSecretMounts" -}}
{{- range $i, $m := .Values.listener.secretMounts }}
- name: tenant-secret-{{ $i }}
  mountPath: {{ $m.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "gather-sync.orgSecretVolumes" -}}
{{- range $i, $m := .Values.listener.secretMounts }}
- name: tenant-secret-{{ $i }}
  secret:
    secretName: {{ $m.secretName }}
{{- end }}
{{- end }}

{{/* KEDA's maximum for a component: its maxReplicas, else (null) kafka.partitions. */}}
{{- define "gather-sync.maxReplicas" -}}
{{- $scale := index .root.Values.autoscaling .component }}
{{- if kindIs "invalid" $scale.maxReplicas }}{{ int .root.Values.kafka.partitions }}{{ else }}{{ int $scale.maxReplicas }}{{ end }}
{{- end }}

{{/* Values the schema cannot compare with each other. */}}
{{- define "gather-sync.checks" -}}
{{- $partitions := int .Values.kafka.partitions }}
{{- if gt (int .Values.worker.replicas) $partitions }}
{{- fail (printf "worker.replicas (%d) is more than kafka.partitions (%d): Faust tables are partitioned, so the extra workers would sit idle; lower worker.replicas or raise kafka.partitions" (int .Values.worker.replicas) $partitions) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- range $component := list "worker" "sink" }}
{{- $scale := index $.Values.autoscaling $component }}
{{- $max := int (include "gather-sync.maxReplicas" (dict "root" $ "component" $component)) }}
{{- if gt $max $partitions }}
{{- fail (printf "autoscaling.%s.maxReplicas (%d) is more than kafka.partitions (%d): the extra replicas would sit idle; lower it to at most the partitions of its topics" $component $max $partitions) }}
{{- end }}
{{- if gt (int $scale.minReplicas) $max }}
{{- fail (printf "autoscaling.%s.minReplicas (%d) is more than its maxReplicas (%d)" $component (int $scale.minReplicas) $max) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.tenants.files .Values.tenants.existingConfigMap }}
{{- fail "give tenants.files or tenants.existingConfigMap, not both" }}
{{- end }}
{{- end }}

{{/* A one-shot container: no metrics port, no probes. */}}
{{- define "gather-sync.jobContainerSettings" -}}
image: {{ include "gather-sync.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .values.resources | nindent 2 }}
{{- end }}
