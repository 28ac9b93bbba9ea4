{{- define "resetbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "resetbot.fullname" -}}
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

{{- define "resetbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "resetbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "resetbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "resetbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "resetbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "resetbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Bitnami Redis subchart's full name (its common.names.fullname for a chart named redis). */}}
{{- define "resetbot.redisFullname" -}}
{{- if .Values.redis.fullnameOverride }}
{{- .Values.redis.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains "redis" .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-redis" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The Secret holding the secret settings. */}}
{{- define "resetbot.secretName" -}}
{{- default (include "resetbot.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The secret settings present, one per line. */}}
{{- define "resetbot.secretKeys" -}}
{{- if .Values.secrets.existingSecret }}
{{- range .Values.secrets.existingSecretKeys }}
{{ . }}
{{- end }}
{{- else }}
{{- range $k, $v := .Values.secrets.values }}
{{- if $v }}
{{ $k }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Redis the bot uses, as settings (the subchart's services, or the operator's own). */}}
{{- define "resetbot.redisSettings" -}}
{{- if .Values.redis.enabled }}
{{- $redis := include "resetbot.redisFullname" . }}
{{- if .Values.redis.sentinel.enabled }}
REDIS_ADDRS: {{ printf "%s:26379" $redis | quote }}
REDIS_MASTER_NAME: {{ .Values.redis.sentinel.masterSet | quote }}
{{- else }}
REDIS_URL: {{ printf "redis://%s-master:6379/0" $redis | quote }}
{{- end }}
{{- end }}
{{- end }}
