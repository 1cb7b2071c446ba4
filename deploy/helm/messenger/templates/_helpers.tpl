{{- define "messenger.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "messenger.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The server pods (the migration job's pods carry component: migrate instead). */}}
{{- define "messenger.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Media on a pod's own disk is seen by that pod only. */}}
{{- define "messenger.checkMedia" -}}
{{- if and (not .Values.s3.bucket) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) -}}
{{- fail "s3.bucket is required with more than one replica (or autoscaling): media on a pod's disk is invisible to the others" -}}
{{- end -}}
{{- end -}}

{{- define "messenger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "messenger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "messenger.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Environment shared by the server and the migration job: secrets as files. */}}
{{- define "messenger.env" -}}
- name: DATABASE_URL_FILE
  value: /run/secrets/messenger/database-url
- name: MESSENGER_TOKEN_KEY_FILE
  value: /run/secrets/messenger/token-key
{{- if .Values.redis.enabled }}
- name: REDIS_URL_FILE
  value: /run/secrets/messenger/redis-url
{{- end }}
{{- if .Values.s3.bucket }}
- name: MESSENGER_S3_BUCKET
  value: {{ .Values.s3.bucket | quote }}
- name: MESSENGER_S3_REGION
  value: {{ .Values.s3.region | quote }}
{{- if .Values.s3.endpoint }}
- name: MESSENGER_S3_ENDPOINT
  value: {{ .Values.s3.endpoint | quote }}
{{- end }}
{{- if .Values.s3.credentialsFromSecret }}
- name: AWS_ACCESS_KEY_ID_FILE
  value: /run/secrets/messenger/s3-access-key
- name: AWS_SECRET_ACCESS_KEY_FILE
  value: /run/secrets/messenger/s3-secret-key
{{- end }}
{{- end }}
{{- if .Values.mediaBaseUrl }}
- name: MEDIA_BASE_URL
  value: {{ .Values.mediaBaseUrl | quote }}
{{- end }}
- name: MESSENGER_LOG_FORMAT
  value: json
{{- end -}}

{{- define "messenger.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
