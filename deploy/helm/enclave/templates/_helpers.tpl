{{/* Names, labels, security contexts and the environment every Enclave process shares. */}}

{{- define "enclave.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "enclave.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "gateway") */}}
{{- define "enclave.selector" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "enclave.componentLabels" -}}
{{ include "enclave.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Pod security context; (dict "ctx" $ "uid" 70) runs the pod as another non-root user. */}}
{{- define "enclave.podSecurity" -}}
{{- $sc := deepCopy .ctx.Values.podSecurityContext -}}
{{- if .uid -}}
{{- $_ := set $sc "runAsUser" .uid -}}
{{- $_ := set $sc "runAsGroup" .uid -}}
{{- $_ := set $sc "fsGroup" .uid -}}
{{- end -}}
{{- toYaml $sc -}}
{{- end -}}

{{- define "enclave.containerSecurity" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{- define "enclave.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{- define "enclave.postgresHost" -}}
{{- printf "%s-postgres" (include "enclave.fullname" .) -}}
{{- end -}}

{{- define "enclave.redisHost" -}}
{{- if .Values.redis.bundled -}}
{{- printf "%s-redis" (include "enclave.fullname" .) -}}
{{- else -}}
{{- required "redis.external.host is required when redis.bundled is false" .Values.redis.external.host -}}
{{- end -}}
{{- end -}}

{{- define "enclave.redisPort" -}}
{{- if .Values.redis.bundled -}}6379{{- else -}}{{ .Values.redis.external.port }}{{- end -}}
{{- end -}}

{{- define "enclave.redisUrl" -}}
{{- $scheme := ternary "rediss" "redis" (and (not .ctx.Values.redis.bundled) .ctx.Values.redis.external.tls) -}}
{{- printf "%s://:$(REDIS_PASSWORD)@%s:%s/%v" $scheme (include "enclave.redisHost" .ctx) (include "enclave.redisPort" .ctx) .db -}}
{{- end -}}

{{- define "enclave.qdrantHeadless" -}}
{{- printf "%s-qdrant-headless" (include "enclave.fullname" .) -}}
{{- end -}}

{{- define "enclave.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ctx.Values.secrets.existingSecret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The environment of gateway, worker, beat and migrate: compose's x-enclave-env, plus the cluster. */}}
{{- define "enclave.appEnv" -}}
{{- $name := include "enclave.fullname" . -}}
{{- $k := .Values.secrets.keys -}}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "POSTGRES_PASSWORD" "key" $k.postgresPassword "optional" (not .Values.postgresql.bundled)) }}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "REDIS_PASSWORD" "key" $k.redisPassword) }}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "ENCLAVE_QDRANT_API_KEY" "key" $k.qdrantApiKey) }}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "ENCLAVE_OPERATOR_KEY" "key" $k.operatorKey "optional" true) }}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "ENCLAVE_EMBEDDER_API_KEY" "key" $k.embedderApiKey "optional" true) }}
{{ include "enclave.secretEnv" (dict "ctx" . "name" "ENCLAVE_LLM_API_KEY" "key" $k.llmApiKey "optional" true) }}
- name: ENCLAVE_DATA_DIR
  value: /data
- name: ENCLAVE_DATABASE_URL
  {{- if .Values.postgresql.bundled }}
  value: {{ printf "postgresql+psycopg://%s:$(POSTGRES_PASSWORD)@%s:5432/%s" .Values.postgresql.user (include "enclave.postgresHost" .) .Values.postgresql.database | quote }}
  {{- else }}
  value: {{ required "postgresql.external.url is required when postgresql.bundled is false" .Values.postgresql.external.url | quote }}
  {{- end }}
- name: ENCLAVE_BROKER_URL
  value: {{ include "enclave.redisUrl" (dict "ctx" . "db" .Values.redis.brokerDatabase) | quote }}
- name: ENCLAVE_REDIS_URL
  value: {{ include "enclave.redisUrl" (dict "ctx" . "db" .Values.redis.database) | quote }}
- name: ENCLAVE_INDEX_BACKEND
  value: qdrant
- name: ENCLAVE_QDRANT_URL
  value: {{ printf "http://%s-qdrant:6333" $name | quote }}
- name: ENCLAVE_QDRANT_SHARDS
  value: {{ .Values.qdrant.collection.shards | quote }}
- name: ENCLAVE_QDRANT_REPLICAS
  value: {{ .Values.qdrant.collection.replicationFactor | quote }}
- name: ENCLAVE_QDRANT_WRITE_CONSISTENCY
  value: {{ .Values.qdrant.collection.writeConsistencyFactor | quote }}
- name: ENCLAVE_QDRANT_WRITE_ORDERING
  value: {{ .Values.qdrant.collection.writeOrdering | quote }}
- name: ENCLAVE_EMBEDDER_URL
  value: {{ printf "http://%s-embedder:8000/v1" $name | quote }}
- name: ENCLAVE_LLM_URL
  value: {{ printf "http://%s-llm:8000/v1" $name | quote }}
- name: HF_HUB_OFFLINE
  value: "1"
- name: DO_NOT_TRACK
  value: "1"
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.tracing.otlpEndpoint | quote }}
{{- end -}}

{{/* What every Enclave container mounts: the shared uploads, and writable /tmp and home. */}}
{{- define "enclave.appMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/enclave
{{- end -}}

{{- define "enclave.appVolumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ .Values.data.existingClaim | default (printf "%s-data" (include "enclave.fullname" .)) }}
- name: tmp
  emptyDir: {}
- name: home
  emptyDir: {}
{{- end -}}

{{- define "enclave.appEnvFrom" -}}
- configMapRef:
    name: {{ include "enclave.fullname" . }}-config
{{- end -}}

{{/* The worker's grace period: the task time limit plus Celery's hard-limit grace and a margin. */}}
{{- define "enclave.workerGrace" -}}
{{- if .Values.worker.terminationGracePeriodSeconds -}}
{{- .Values.worker.terminationGracePeriodSeconds -}}
{{- else -}}
{{- add (int (default 1800 .Values.config.ENCLAVE_TASK_TIME_LIMIT_S)) 90 -}}
{{- end -}}
{{- end -}}

{{/* NetworkPolicy peers: (dict "ctx" $ "components" (list "gateway" "worker")) */}}
{{- define "enclave.peers" -}}
{{- range .components }}
- podSelector:
    matchLabels:
      {{- include "enclave.selector" (dict "ctx" $.ctx "component" .) | nindent 6 }}
{{- end }}
{{- end -}}
{{- define "enclave.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}
