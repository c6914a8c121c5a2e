{{/*
Named templates of the motcua chart. Per-service templates take a dict:
  root  the top-level context ($)
  name  the key in .Values.services (identity, ..., gateway)
  svc   the value under that key
*/}}

{{/* The port every gRPC service listens on, in the pod and on its Service. */}}
{{- define "motcua.grpcPort" -}}50051{{- end }}

{{/* The port the gateway's container listens on. */}}
{{- define "motcua.httpPort" -}}8080{{- end }}

{{/* The port of the identity service's HTTP endpoints (the JWKS), in the pod and on its Service. */}}
{{- define "motcua.identity.httpPort" -}}8081{{- end }}
{{/* The notifications service's HTTP port: the providers' delivery receipts, passed by the gateway. */}}
{{- define "motcua.notifications.httpPort" -}}8082{{- end }}
{{- define "motcua.isNotifications" -}}
{{- if eq .name "notifications" }}true{{ end }}
{{- end }}

{{/* The HTTP gateway is the one entry of .Values.services that is not a gRPC service. */}}
{{- define "motcua.isGateway" -}}
{{- if eq .name "gateway" }}true{{ end }}
{{- end }}

{{- define "motcua.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "motcua.fullname" -}}
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

{{- define "motcua.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a service's Deployment, Service and NetworkPolicy: <fullname>-<service>. */}}
{{- define "motcua.componentName" -}}
{{- printf "%s-%s" (include "motcua.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The in-cluster DNS name of a service's Service. */}}
{{- define "motcua.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "motcua.componentName" .) .root.Release.Namespace .root.Values.clusterDomain }}
{{- end }}

{{/* Labels of the release's pods, whatever the service: what the NetworkPolicies admit. */}}
{{- define "motcua.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "motcua.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Kubernetes recommended labels of objects that belong to no single service. */}}
{{- define "motcua.labels" -}}
helm.sh/chart: {{ include "motcua.chart" . }}
{{ include "motcua.releaseSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: motcua
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one service's pods (dict root name). */}}
{{- define "motcua.componentSelectorLabels" -}}
{{ include "motcua.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Labels of one service's objects (dict root name). */}}
{{- define "motcua.componentLabels" -}}
{{ include "motcua.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* metadata.annotations from commonAnnotations (and extra ones given as .extra), or nothing. */}}
{{- define "motcua.annotations" -}}
{{- $annotations := merge (deepCopy (default dict .extra)) (deepCopy (default dict .root.Values.commonAnnotations)) }}
{{- with $annotations }}
annotations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "motcua.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "motcua.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "motcua.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the PostgreSQL password, and its key. */}}
{{- define "motcua.postgresql.secretName" -}}
{{- if .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecret }}
{{- else }}
{{- printf "%s-postgresql" (include "motcua.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "motcua.postgresql.secretKey" -}}
{{- if .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecretPasswordKey }}
{{- else -}}
password
{{- end }}
{{- end }}

{{/*
The shared ConfigMap's data. Also hashed into every pod's checksum/config annotation,
so that a change of any of these values rolls the pods.
*/}}
{{- define "motcua.configData" -}}
MOTCUA_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
MOTCUA_SHUTDOWN_GRACE: {{ .Values.config.shutdownGrace | toString | quote }}
MOTCUA_TOPIC_PARTITIONS: {{ .Values.config.topicPartitions | toString | quote }}
MOTCUA_MAX_MESSAGE_BYTES: {{ .Values.config.maxMessageBytes | int64 | toString | quote }}
MOTCUA_TRUSTED_PROXIES: {{ join "," .Values.config.trustedProxies | quote }}
PERSISTENCE_MODULE: "eventsourcing.postgres"
POSTGRES_HOST: {{ .Values.postgresql.host | quote }}
POSTGRES_PORT: {{ .Values.postgresql.port | toString | quote }}
POSTGRES_USER: {{ .Values.postgresql.user | quote }}
POSTGRES_POOL_SIZE: {{ .Values.postgresql.poolSize | toString | quote }}
POSTGRES_MAX_OVERFLOW: {{ .Values.postgresql.maxOverflow | toString | quote }}
{{ include "motcua.kafka.configData" . }}
{{- if .Values.metrics.enabled }}
MOTCUA_METRICS_ADDR: {{ printf "0.0.0.0:%v" .Values.metrics.port | quote }}
{{- end }}
{{- with .Values.tracing.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.tracing.sampler }}
OTEL_TRACES_SAMPLER: {{ . | quote }}
{{- end }}
{{- with .Values.tracing.samplerArg }}
OTEL_TRACES_SAMPLER_ARG: {{ . | toString | quote }}
{{- end }}
{{- with include "motcua.auth.jwksUrl" . }}
MOTCUA_AUTH_JWKS_URL: {{ . | quote }}
MOTCUA_AUTH_ISSUER: {{ $.Values.auth.issuer | quote }}
MOTCUA_AUTH_AUDIENCE: {{ $.Values.auth.audience | quote }}
MOTCUA_AUTH_LEEWAY: {{ $.Values.auth.leeway | toString | quote }}
{{- end }}
{{- end }}

{{/*
MOTCUA_AUTH_JWKS_URL: where every service fetches the keys tokens are verified with. The
release's identity Service when identity is enabled, else auth.jwksUrl (an identity elsewhere).
*/}}
{{- define "motcua.auth.jwksUrl" -}}
{{- if .Values.services.identity.enabled }}
{{- $host := include "motcua.serviceHost" (dict "root" . "name" "identity") }}
{{- printf "http://%s:%s/.well-known/jwks.json" $host (include "motcua.identity.httpPort" .) }}
{{- else }}
{{- .Values.auth.jwksUrl }}
{{- end }}
{{- end }}

{{/* MOTCUA_BACKENDS of the gateway: name=host:port of every enabled gRPC service. */}}
{{- define "motcua.backends" -}}
{{- $root := . }}
{{- $entries := list }}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled (not (include "motcua.isGateway" (dict "name" $name))) }}
{{- $host := include "motcua.serviceHost" (dict "root" $root "name" $name) }}
{{- $entries = append $entries (printf "%s=%s:%s" $name $host (include "motcua.grpcPort" $root)) }}
{{- end }}
{{- end }}
{{- join "," $entries }}
{{- end }}

{{/* Where the dossiers service's data volume (the attachments) is mounted. */}}
{{- define "motcua.dossiers.dataDir" -}}/var/lib/motcua/dossiers{{- end }}
{{/* Where the notifications' key-encryption keys are: their Secret, or (devKeys) an emptyDir. */}}
{{- define "motcua.notifications.subjectKeksDir" -}}
{{- if .Values.notifications.subjectKeksSecret }}/etc/motcua/notifications/subject-keks{{ else }}/var/lib/motcua/notifications/subject-keks{{ end }}
{{- end }}

{{/* The notifications container's volumeMounts and the pod's volumes beside /tmp. */}}
{{- define "motcua.notifications.volumeMounts" -}}
- name: notifications-subject-keks
  mountPath: {{ include "motcua.notifications.subjectKeksDir" . }}
  {{- if .Values.notifications.subjectKeksSecret }}
  readOnly: true
  {{- end }}
{{- end }}
{{- define "motcua.notifications.volumes" -}}
{{- if .Values.notifications.subjectKeksSecret }}
# The key-encryption keys of recipients' personal data; readable by the pod's fsGroup only.
- name: notifications-subject-keks
  secret:
    secretName: {{ .Values.notifications.subjectKeksSecret }}
    defaultMode: 0440
{{- else }}
# The generated development key-encryption key, lost (and replaced) with the pod.
- name: notifications-subject-keks
  emptyDir: {}
{{- end }}
{{- end }}

{{/* Where the dossiers' key-encryption keys Secret (dossiers.subjectKeksSecret) is mounted. */}}
{{- define "motcua.dossiers.subjectKeksDir" -}}/etc/motcua/dossiers/subject-keks{{- end }}

{{/* The claim of the dossiers' data volume: the existing one named in the values, else the chart's. */}}
{{- define "motcua.dossiers.claimName" -}}
{{- .Values.dossiers.storage.existingClaim | default (printf "%s-dossiers-data" (include "motcua.fullname" .)) }}
{{- end }}

{{/* The dossiers pod's data volume (dict root name svc): a claim, else (explicitly) an emptyDir. */}}
{{- define "motcua.dossiers.volumes" -}}
{{- $storage := .root.Values.dossiers.storage }}
- name: dossiers-data
  {{- if eq $storage.type "claim" }}
  persistentVolumeClaim:
    claimName: {{ include "motcua.dossiers.claimName" .root }}
  {{- else if $storage.sizeLimit }}
  emptyDir:
    sizeLimit: {{ $storage.sizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- with .root.Values.dossiers.subjectKeksSecret }}
# The key-encryption keys of applicants' personal data; readable by the pod's fsGroup only.
- name: dossiers-subject-keks
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* The signing service gets a data volume, its keys Secret and its own settings. */}}
{{- define "motcua.isSigning" -}}
{{- if eq .name "signing" }}true{{ end }}
{{- end }}

{{/* Where the signing service's data volume (MOTCUA_SIGNING_DIR) and keys Secret are mounted. */}}
{{- define "motcua.signing.dataDir" -}}/var/lib/motcua/signing{{- end }}
{{- define "motcua.signing.keysDir" -}}/etc/motcua/signing/keys{{- end }}
{{- define "motcua.signing.pkcs11Dir" -}}/etc/motcua/signing/pkcs11{{- end }}
{{/* The file of the keys Secret holding the trust roots (MOTCUA_SIGNING_TRUST_ROOTS). */}}
{{- define "motcua.signing.trustRootsFile" -}}trust-roots.pem{{- end }}

{{/* The identity service gets its HTTP port, its token signing keys and its own settings. */}}
{{- define "motcua.isIdentity" -}}
{{- if eq .name "identity" }}true{{ end }}
{{- end }}

{{/* Where identity's OIDC clients file (a ConfigMap) and its clients' secrets (a Secret) are mounted. */}}
{{- define "motcua.identity.oidcDir" -}}/etc/motcua/identity/oidc{{- end }}
{{- define "motcua.identity.subjectKeksDir" -}}/etc/motcua/identity/subject-keks{{- end }}
{{- define "motcua.identity.oidcSecretsDir" -}}/etc/motcua/identity/oidc-secrets{{- end }}

{{/*
identity's OIDC clients file: identity.oidc.clients, each confidential client pointing at its
secret in the mounted clientSecretsSecret (client_secret_file), so the ConfigMap holds no secret.
*/}}
{{- define "motcua.identity.oidcClients" -}}
{{- $root := . }}
{{- $clients := list }}
{{- range .Values.identity.oidc.clients }}
{{- $client := deepCopy . }}
{{- if ne (default "client_secret_basic" $client.token_endpoint_auth_method) "none" }}
{{- $_ := set $client "client_secret_file" (printf "%s/%s" (include "motcua.identity.oidcSecretsDir" $root) $client.client_id) }}
{{- end }}
{{- $clients = append $clients $client }}
{{- end }}
{{- toPrettyJson $clients }}
{{- end }}

{{/* Where identity's keys Secret is mounted, and the data volume identity.devKeys generates a key in. */}}
{{- define "motcua.identity.keysDir" -}}/etc/motcua/identity/keys{{- end }}
{{- define "motcua.identity.dataDir" -}}/var/lib/motcua/identity{{- end }}

{{/* Environment variables the chart sets per container; extraEnvVars may not name them. */}}
{{- define "motcua.managedEnvNames" -}}
{{- if include "motcua.isGateway" . -}}
MOTCUA_HTTP_ADDR,MOTCUA_BACKENDS,MOTCUA_HEALTH_TIMEOUT,MOTCUA_CORS_ALLOWED_ORIGINS,MOTCUA_IDENTITY_URL,MOTCUA_NOTIFICATIONS_CALLBACKS_URL,OTEL_SERVICE_NAME,OTEL_RESOURCE_ATTRIBUTES,K8S_POD_NAME
{{- else -}}
MOTCUA_SERVICE,MOTCUA_GRPC_ADDR,POSTGRES_DBNAME,POSTGRES_PASSWORD,MOTCUA_KAFKA_SASL_PASSWORD,OTEL_SERVICE_NAME,OTEL_RESOURCE_ATTRIBUTES,K8S_POD_NAME
{{- if include "motcua.isSigning" . -}}
,MOTCUA_SIGNING_DIR,MOTCUA_SIGNING_DEV_PKI,MOTCUA_SIGNING_KEYS_DIR,MOTCUA_SIGNING_TRUST_ROOTS,MOTCUA_SIGNING_TSA_URL
{{- end }}
{{- if eq .name "dossiers" -}}
,MOTCUA_SIGNING_ADDR,MOTCUA_IDENTITY_ADDR,MOTCUA_NOTIFICATIONS_ADDR,MOTCUA_DOSSIERS_DOCUMENTS_DIR,MOTCUA_DOSSIERS_LOOKUP_KEY,MOTCUA_DOSSIERS_SUBJECT_KEKS_DIR,MOTCUA_DOSSIERS_PERSONAL_KEY_FILE,MOTCUA_DOSSIERS_PERSONAL_KEY
{{- end }}
{{- if eq .name "notifications" -}}
,MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR,MOTCUA_NOTIFICATIONS_DEV_KEYS
{{- end }}
{{- if include "motcua.isNotifications" . -}}
,MOTCUA_HTTP_ADDR
{{- end }}
{{- if include "motcua.isIdentity" . -}}
,MOTCUA_HTTP_ADDR,MOTCUA_IDENTITY_DIR,MOTCUA_IDENTITY_DEV_KEYS,MOTCUA_IDENTITY_KEYS_DIR,MOTCUA_IDENTITY_EVENT_KEY_FILE,MOTCUA_IDENTITY_LOOKUP_KEY_FILE,MOTCUA_IDENTITY_SUBJECT_KEKS_DIR,MOTCUA_IDENTITY_DEV_TOKENS,MOTCUA_IDENTITY_OIDC_CLIENTS
{{- end }}
{{- end }}
{{- end }}

{{/* The signing service's own settings (dict root name svc): its data directory, keys, TSA. */}}
{{- define "motcua.signing.env" -}}
{{- $signing := .root.Values.signing }}
- name: MOTCUA_SIGNING_DIR
  value: {{ include "motcua.signing.dataDir" .root | quote }}
- name: MOTCUA_SIGNING_DEV_PKI
  value: {{ ternary "true" "false" $signing.devPki | quote }}
{{- if $signing.keysSecret }}
- name: MOTCUA_SIGNING_KEYS_DIR
  value: {{ include "motcua.signing.keysDir" .root | quote }}
- name: MOTCUA_SIGNING_TRUST_ROOTS
  value: {{ printf "%s/%s" (include "motcua.signing.keysDir" .root) (include "motcua.signing.trustRootsFile" .root) | quote }}
{{- with $signing.auditKeyFile }}
- name: MOTCUA_SIGNING_AUDIT_KEY
  value: {{ printf "%s/%s" (include "motcua.signing.keysDir" $.root) . | quote }}
{{- end }}
{{- end }}
{{- with $signing.tsaUrl }}
- name: MOTCUA_SIGNING_TSA_URL
  value: {{ . | quote }}
{{- end }}
{{- with $signing.padesLevel }}
- name: MOTCUA_SIGNING_PADES_LEVEL
  value: {{ . | quote }}
{{- end }}
{{- with $signing.pkcs11.module }}
- name: MOTCUA_SIGNING_PKCS11_MODULE
  value: {{ . | quote }}
- name: MOTCUA_SIGNING_PKCS11_TOKEN_LABEL
  value: {{ $signing.pkcs11.tokenLabel | quote }}
{{- with $signing.pkcs11.slot }}
- name: MOTCUA_SIGNING_PKCS11_SLOT
  value: {{ . | quote }}
{{- end }}
- name: MOTCUA_SIGNING_PKCS11_PIN_FILE
  value: {{ printf "%s/pin" (include "motcua.signing.pkcs11Dir" $.root) | quote }}
{{- end }}
{{- end }}

{{/* The signing container's volumeMounts beside /tmp (dict root name svc). */}}
{{- define "motcua.signing.volumeMounts" -}}
- name: signing-data
  mountPath: {{ include "motcua.signing.dataDir" .root }}
{{- if .root.Values.signing.keysSecret }}
- name: signing-keys
  mountPath: {{ include "motcua.signing.keysDir" .root }}
  readOnly: true
{{- end }}
{{- if .root.Values.signing.pkcs11.module }}
- name: signing-pkcs11-pin
  mountPath: {{ include "motcua.signing.pkcs11Dir" .root }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The signing pod's volumes beside /tmp (dict root name svc). */}}
{{- define "motcua.signing.volumes" -}}
{{- $signing := .root.Values.signing }}
# MOTCUA_SIGNING_DIR: the signed PDFs (and, with signing.devPki, the development PKI).
- name: signing-data
  {{- if $signing.storage.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ $signing.storage.existingClaim }}
  {{- else if $signing.storage.sizeLimit }}
  emptyDir:
    sizeLimit: {{ $signing.storage.sizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- if $signing.keysSecret }}
# The seal key, its certificate chain and the trust roots; readable by the pod's fsGroup only.
- name: signing-keys
  secret:
    secretName: {{ $signing.keysSecret }}
    defaultMode: 0440
{{- end }}
{{- if $signing.pkcs11.module }}
# The HSM token's user PIN (key pin); the keys themselves stay in the HSM.
- name: signing-pkcs11-pin
  secret:
    secretName: {{ $signing.pkcs11.pinSecret }}
    defaultMode: 0440
    items:
      - key: pin
        path: pin
{{- end }}
{{- end }}

{{/* The identity service's own settings (dict root name svc): its HTTP address, signing keys, dev tokens. */}}
{{- define "motcua.identity.env" -}}
{{- $identity := .root.Values.identity }}
- name: MOTCUA_HTTP_ADDR
  value: {{ printf "0.0.0.0:%s" (include "motcua.identity.httpPort" .root) | quote }}
- name: MOTCUA_IDENTITY_DEV_KEYS
  value: {{ ternary "true" "false" $identity.devKeys | quote }}
{{- if $identity.devKeys }}
- name: MOTCUA_IDENTITY_DIR
  value: {{ include "motcua.identity.dataDir" .root | quote }}
{{- end }}
{{- if $identity.keysSecret }}
- name: MOTCUA_IDENTITY_KEYS_DIR
  value: {{ include "motcua.identity.keysDir" .root | quote }}
- name: MOTCUA_IDENTITY_EVENT_KEY_FILE
  value: {{ printf "%s/event-store.key" (include "motcua.identity.keysDir" .root) | quote }}
- name: MOTCUA_IDENTITY_LOOKUP_KEY_FILE
  value: {{ printf "%s/lookup.key" (include "motcua.identity.keysDir" .root) | quote }}
{{- end }}
{{- if $identity.subjectKeksSecret }}
- name: MOTCUA_IDENTITY_SUBJECT_KEKS_DIR
  value: {{ include "motcua.identity.subjectKeksDir" .root | quote }}
{{- end }}
- name: MOTCUA_IDENTITY_DEV_TOKENS
  value: {{ ternary "true" "false" $identity.devTokens | quote }}
{{- if $identity.oidc.clients }}
- name: MOTCUA_IDENTITY_OIDC_CLIENTS
  value: {{ printf "%s/clients.json" (include "motcua.identity.oidcDir" .root) | quote }}
{{- end }}
{{- end }}

{{/* The identity container's volumeMounts beside /tmp (dict root name svc). */}}
{{- define "motcua.identity.volumeMounts" -}}
{{- if .root.Values.identity.devKeys }}
- name: identity-data
  mountPath: {{ include "motcua.identity.dataDir" .root }}
{{- end }}
{{- if .root.Values.identity.keysSecret }}
- name: identity-keys
  mountPath: {{ include "motcua.identity.keysDir" .root }}
  readOnly: true
{{- end }}
{{- if .root.Values.identity.subjectKeksSecret }}
- name: identity-subject-keks
  mountPath: {{ include "motcua.identity.subjectKeksDir" .root }}
  readOnly: true
{{- end }}
{{- if .root.Values.identity.oidc.clients }}
- name: identity-oidc
  mountPath: {{ include "motcua.identity.oidcDir" .root }}
  readOnly: true
{{- end }}
{{- if .root.Values.identity.oidc.clientSecretsSecret }}
- name: identity-oidc-secrets
  mountPath: {{ include "motcua.identity.oidcSecretsDir" .root }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The identity pod's volumes beside /tmp (dict root name svc). */}}
{{- define "motcua.identity.volumes" -}}
{{- $identity := .root.Values.identity }}
{{- if $identity.devKeys }}
# MOTCUA_IDENTITY_DIR: the generated development key, lost (and replaced) with the pod.
- name: identity-data
  emptyDir: {}
{{- end }}
{{- if $identity.keysSecret }}
# The token signing keys; readable by the pod's fsGroup only.
- name: identity-keys
  secret:
    secretName: {{ $identity.keysSecret }}
    defaultMode: 0440
{{- end }}
{{- if $identity.subjectKeksSecret }}
# The key-encryption keys of accounts' personal data; readable by the pod's fsGroup only.
- name: identity-subject-keks
  secret:
    secretName: {{ $identity.subjectKeksSecret }}
    defaultMode: 0440
{{- end }}
{{- if $identity.oidc.clients }}
# The OIDC clients file (no secrets in it).
- name: identity-oidc
  configMap:
    name: {{ printf "%s-identity-oidc" (include "motcua.fullname" .root) }}
{{- end }}
{{- if $identity.oidc.clientSecretsSecret }}
# The confidential clients' secrets, one file per client_id; readable by the pod's fsGroup only.
- name: identity-oidc-secrets
  secret:
    secretName: {{ $identity.oidc.clientSecretsSecret }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* The container's env (dict root name svc): the per-service part of the kernel's contract. */}}
{{- define "motcua.env" -}}
{{- $root := .root }}
{{- $svc := .svc }}
{{- if include "motcua.isGateway" . }}
- name: MOTCUA_HTTP_ADDR
  value: {{ printf "0.0.0.0:%s" (include "motcua.httpPort" $root) | quote }}
- name: MOTCUA_BACKENDS
  value: {{ include "motcua.backends" $root | quote }}
- name: MOTCUA_HEALTH_TIMEOUT
  value: {{ $svc.healthTimeout | toString | quote }}
- name: MOTCUA_CORS_ALLOWED_ORIGINS
  value: {{ join "," $svc.corsAllowedOrigins | quote }}
{{- if $root.Values.services.identity.enabled }}
{{- /* The OIDC endpoints and the login page are served under the gateway's URL, the public issuer. */}}
- name: MOTCUA_IDENTITY_URL
  value: {{ printf "http://%s:%s" (include "motcua.serviceHost" (dict "root" $root "name" "identity")) (include "motcua.identity.httpPort" $root) | quote }}
{{- end }}
{{- if $root.Values.services.notifications.enabled }}
{{- /* The SMS and Zalo providers' receipts, /v1/notifications/callbacks/{provider}, verified by notifications. */}}
- name: MOTCUA_NOTIFICATIONS_CALLBACKS_URL
  value: {{ printf "http://%s:%s" (include "motcua.serviceHost" (dict "root" $root "name" "notifications")) (include "motcua.notifications.httpPort" $root) | quote }}
{{- end }}
{{- else }}
- name: MOTCUA_SERVICE
  value: {{ .name | quote }}
- name: MOTCUA_GRPC_ADDR
  value: {{ printf "0.0.0.0:%s" (include "motcua.grpcPort" $root) | quote }}
- name: POSTGRES_DBNAME
  value: {{ default (printf "motcua_%s" .name) $svc.database | quote }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "motcua.postgresql.secretName" $root }}
      key: {{ include "motcua.postgresql.secretKey" $root }}
{{- with include "motcua.kafka.env" $root | trim }}
{{ . }}
{{- end }}
{{- if include "motcua.isSigning" . }}
{{ include "motcua.signing.env" . | trim }}
{{- end }}
{{- if include "motcua.isIdentity" . }}
{{ include "motcua.identity.env" . | trim }}
{{- end }}
{{- if include "motcua.isNotifications" . }}
- name: MOTCUA_HTTP_ADDR
  value: {{ printf "0.0.0.0:%s" (include "motcua.notifications.httpPort" $root) | quote }}
{{- end }}
{{- if eq .name "notifications" }}
- name: MOTCUA_NOTIFICATIONS_SUBJECT_KEKS_DIR
  value: {{ include "motcua.notifications.subjectKeksDir" $root | quote }}
- name: MOTCUA_NOTIFICATIONS_DEV_KEYS
  value: {{ ternary "true" "false" $root.Values.notifications.devKeys | quote }}
{{- end }}
{{- if eq .name "dossiers" }}
- name: MOTCUA_DOSSIERS_DOCUMENTS_DIR
  value: {{ printf "%s/documents" (include "motcua.dossiers.dataDir" $root) | quote }}
{{- /* Personal data's keys: from Secrets you manage, else generated on the data volume at the first start: back them up (README). */}}
- name: MOTCUA_DOSSIERS_SUBJECT_KEKS_DIR
  value: {{ ternary (include "motcua.dossiers.subjectKeksDir" $root) (printf "%s/secrets/subject-keks" (include "motcua.dossiers.dataDir" $root)) (not (empty $root.Values.dossiers.subjectKeksSecret)) | quote }}
{{- with $root.Values.dossiers.personalKeySecret }}
- name: MOTCUA_DOSSIERS_PERSONAL_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: personal-data.key
{{- else }}
- name: MOTCUA_DOSSIERS_PERSONAL_KEY_FILE
  value: {{ printf "%s/secrets/personal-data.key" (include "motcua.dossiers.dataDir" $root) | quote }}
{{- end }}
{{- with $root.Values.dossiers.lookupKeySecret }}
- name: MOTCUA_DOSSIERS_LOOKUP_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: lookup-throttle.key
{{- end }}
{{- end }}
{{- if and (eq .name "dossiers") $root.Values.services.signing.enabled }}
{{- /* Result documents are signed by the release's signing service. */}}
- name: MOTCUA_SIGNING_ADDR
  value: {{ printf "%s:%s" (include "motcua.serviceHost" (dict "root" $root "name" "signing")) (include "motcua.grpcPort" $root) | quote }}
{{- end }}
{{- if and (eq .name "dossiers") $root.Values.services.identity.enabled }}
{{- /* A person's export and erasure ask identity for the account it holds. */}}
- name: MOTCUA_IDENTITY_ADDR
  value: {{ printf "%s:%s" (include "motcua.serviceHost" (dict "root" $root "name" "identity")) (include "motcua.grpcPort" $root) | quote }}
{{- end }}
{{- if and (eq .name "dossiers") $root.Values.services.notifications.enabled }}
{{- /* ...and notifications for the contact points and notices. */}}
- name: MOTCUA_NOTIFICATIONS_ADDR
  value: {{ printf "%s:%s" (include "motcua.serviceHost" (dict "root" $root "name" "notifications")) (include "motcua.grpcPort" $root) | quote }}
{{- end }}
{{- end }}
{{- if $root.Values.tracing.otlpEndpoint }}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=motcua,service.version=%s,k8s.namespace.name=%s,k8s.pod.name=$(K8S_POD_NAME)" (default $root.Chart.AppVersion $root.Values.image.tag | toString) $root.Release.Namespace | quote }}
{{- end }}
{{- /* Global extraEnvVars first, unless the service sets the same name; then the service's own. */}}
{{- $own := dict }}
{{- range $svc.extraEnvVars }}
{{- $_ := set $own .name true }}
{{- end }}
{{- range $root.Values.extraEnvVars }}
{{- if not (hasKey $own .name) }}
- {{ toYaml . | nindent 2 | trim }}
{{- end }}
{{- end }}
{{- range $svc.extraEnvVars }}
- {{ toYaml . | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* One probe (dict root name svc kind): kind is startup, liveness or readiness. */}}
{{- define "motcua.probe" -}}
{{- $settings := index .root.Values.probes .kind }}
{{- if include "motcua.isGateway" . }}
httpGet:
  path: {{ ternary "/healthz" "/livez" (eq .kind "readiness") }}
  port: http
{{- else }}
grpc:
  port: {{ include "motcua.grpcPort" .root }}
  {{- if ne .kind "startup" }}
  {{- /* Liveness and readiness ask the kernel's "liveness" and "readiness" health services:
       SERVING while the process runs (readiness until shutdown begins). Startup asks "", which
       also follows the background workers. Neither probe follows the workers: a restart does
       not cure a PostgreSQL or Kafka outage, and while Kafka is down the outbox still accepts
       commands, which a pod taken out of its Service could not. */}}
  service: {{ .kind }}
  {{- end }}
{{- end }}
periodSeconds: {{ $settings.periodSeconds }}
timeoutSeconds: {{ $settings.timeoutSeconds }}
failureThreshold: {{ $settings.failureThreshold }}
successThreshold: {{ ternary $settings.successThreshold 1 (eq .kind "readiness") }}
{{- end }}

{{/* The container's probes (dict root name svc). */}}
{{- define "motcua.probes" -}}
{{- $ctx := . }}
{{- range $kind := list "startup" "liveness" "readiness" }}
{{- $custom := index $ctx.svc (printf "custom%sProbe" (title $kind)) }}
{{- if $custom }}
{{ $kind }}Probe: {{- toYaml $custom | nindent 2 }}
{{- else if (index $ctx.root.Values.probes $kind).enabled }}
{{ $kind }}Probe: {{- include "motcua.probe" (merge (dict "kind" $kind) $ctx) | trim | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod affinity (dict root name): .Values.affinity, or the anti-affinity preset. */}}
{{- define "motcua.affinity" -}}
{{- $values := .root.Values }}
{{- if $values.affinity }}
{{- toYaml $values.affinity }}
{{- else if eq $values.podAntiAffinityPreset "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels: {{- include "motcua.componentSelectorLabels" . | nindent 12 }}
{{- else if eq $values.podAntiAffinityPreset "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels: {{- include "motcua.componentSelectorLabels" . | nindent 10 }}
{{- end }}
{{- end }}

{{/* Renders a value that may hold template expressions (string or object). */}}
{{- define "motcua.tplvalues.render" -}}
{{- if kindIs "string" .value }}
{{- tpl .value .context }}
{{- else }}
{{- tpl (toYaml .value) .context }}
{{- end }}
{{- end }}
