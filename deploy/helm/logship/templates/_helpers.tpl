{{/* Full name: the release name, or release-chart when the release name lacks the chart name. */}}
{{- define "logship.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "logship.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "logship.labels" -}}
{{ include "logship.selectorLabels" . }}
app.kubernetes.io/part-of: logship
app.kubernetes.io/version: {{ include "logship.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "logship.serviceAccountName" -}}
{{- default (include "logship.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "logship.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* The ConfigMap holding fluent.conf. */}}
{{- define "logship.configName" -}}
{{- default (printf "%s-config" (include "logship.fullname" .)) .Values.existingConfigMap -}}
{{- end -}}

{{- define "logship.envName" -}}
{{- printf "%s-env" (include "logship.fullname" .) -}}
{{- end -}}

{{/*
The bytes, in MiB, the buffer may hold in memory (README "Memory limit"):
buffer.memoryBoundMiB when set; a memory buffer's Fluentd bound, which is
queue_limit_length × chunk_limit_size (1 MiB) when queue_limit_length is set
(it replaces total_limit_size, as in Fluentd's lib/fluent/plugin/buffer.rb),
else total_limit_size; 208 for a file buffer.
*/}}
{{- define "logship.bufferMemoryMiB" -}}
{{- $b := .Values.buffer -}}
{{- if $b.memoryBoundMiB -}}
{{- int $b.memoryBoundMiB -}}
{{- else if eq $b.type "memory" -}}
{{- if gt (int $b.queueLimitLength) 0 -}}
{{- int $b.queueLimitLength -}}
{{- else -}}
{{- int $b.totalLimitSizeMiB -}}
{{- end -}}
{{- else -}}
208
{{- end -}}
{{- end -}}

{{/* The fixed budget beside the buffer: read blocks, joined lines, request bodies, metadata cache, runtime. */}}
{{- define "logship.fixedBudgetMiB" -}}48{{- end -}}

{{/* The least derived limit: a small buffer's agent runs at about 60 MiB resident (the binary's text, the read and request working set). */}}
{{- define "logship.minMemoryLimitMiB" -}}64{{- end -}}

{{- define "logship.memoryLimit" -}}
{{- with .Values.resources.limits.memory -}}
{{- . -}}
{{- else -}}
{{- printf "%dMi" (max (int (include "logship.minMemoryLimitMiB" .)) (add (int (include "logship.bufferMemoryMiB" .)) (int (include "logship.fixedBudgetMiB" .)))) -}}
{{- end -}}
{{- end -}}

{{/*
The memory request: resources.requests.memory when set; else 64Mi, lowered to
the derived limit when that is smaller (a request above the limit is invalid).
*/}}
{{- define "logship.memoryRequest" -}}
{{- $req := dig "memory" "" (.Values.resources.requests | default dict) -}}
{{- if $req -}}
{{- $req -}}
{{- else if .Values.resources.limits.memory -}}
64Mi
{{- else -}}
{{- printf "%dMi" (min 64 (add (int (include "logship.bufferMemoryMiB" .)) (int (include "logship.fixedBudgetMiB" .)))) -}}
{{- end -}}
{{- end -}}

{{/* The Fluentd pos_file directory when it needs its own mount (outside /var/log). */}}
{{- define "logship.posFileDir" -}}
{{- if .Values.fluentdMigration.enabled -}}
{{- $dir := dir .Values.fluentdMigration.posFile -}}
{{- if not (or (eq $dir "/var/log") (hasPrefix "/var/log/" $dir)) -}}
{{- $dir -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Render-time checks values.schema.json cannot express. */}}
{{- define "logship.validate" -}}
{{- if not .Values.region -}}
{{- fail "region is required: --set region=<AWS region of the log group>" -}}
{{- end -}}
{{- if and (not .Values.logGroup) (not .Values.fluentConf) (not .Values.existingConfigMap) -}}
{{- fail "logGroup is required (or fluentConf / existingConfigMap): --set logGroup=/k8s/<cluster>/containers" -}}
{{- end -}}
{{- if and .Values.fluentConf .Values.existingConfigMap -}}
{{- fail "set fluentConf or existingConfigMap, not both" -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add (int .Values.buffer.shutdownTimeoutSeconds) 10 | int) -}}
{{- fail (printf "terminationGracePeriodSeconds %d leaves less than 10 s after the final flush (buffer.shutdownTimeoutSeconds %d)" (int .Values.terminationGracePeriodSeconds) (int .Values.buffer.shutdownTimeoutSeconds)) -}}
{{- end -}}
{{- if eq (include "logship.imageTag" .) "latest" -}}
{{- fail "image tag latest: pin a release tag or digest" -}}
{{- end -}}
{{- if and .Values.fluentdMigration.enabled (hasPrefix "/var/lib/logship/" .Values.fluentdMigration.posFile) -}}
{{- fail "fluentdMigration.posFile is Fluentd's pos_file, not one under logship's state dir" -}}
{{- end -}}
{{- end -}}
