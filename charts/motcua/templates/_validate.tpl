{{/*
Checks of the values that values.schema.json cannot express. Each check returns a message
or nothing; validateValues fails the rendering with all messages at once.
*/}}
{{- define "motcua.validateValues" -}}
{{- $messages := list }}
{{- $messages = append $messages (include "motcua.validateValues.postgresqlPassword" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.postgresqlHost" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.kafka" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.kafkaSecurity" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.availability" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.services" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.gracePeriod" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.extraEnvVars" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.gateway" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.tracing" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.labels" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.signing" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.auth" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.identity" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.dossiersStorage" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.migrate" . | trim) }}
{{- $messages = append $messages (include "motcua.validateValues.notifications" . | trim) }}
{{- $messages = without $messages "" }}
{{- if $messages }}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages) | fail }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.postgresqlPassword" -}}
{{- $pg := .Values.postgresql }}
{{- if and $pg.password $pg.existingSecret -}}
postgresql: both postgresql.password and postgresql.existingSecret are set. Set only one:
  existingSecret to use a Secret you manage, or password to let the chart create one.
{{- else if not (or $pg.password $pg.existingSecret) -}}
postgresql: no PostgreSQL password. Set postgresql.existingSecret to the name of a Secret
  holding it (under the key postgresql.existingSecretPasswordKey, "password" by default),
  or postgresql.password to let the chart create the Secret.
{{- end }}
{{- end }}

{{- define "motcua.validateValues.postgresqlHost" -}}
{{- if not .Values.postgresql.host -}}
postgresql.host: not set. The chart runs no PostgreSQL; give the address of the server
  that holds the services' databases (e.g. --set postgresql.host=motcua-pg-rw.databases.svc).
{{- end }}
{{- end }}

{{- define "motcua.validateValues.kafka" -}}
{{- $servers := .Values.kafka.bootstrapServers }}
{{- if not $servers -}}
kafka.bootstrapServers: not set. Give the Kafka brokers as host:port[,host:port...]
  (e.g. --set kafka.bootstrapServers=motcua-kafka-bootstrap.kafka.svc:9092).
{{- else }}
{{- range splitList "," $servers }}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$" (trim .)) }}
kafka.bootstrapServers: {{ . | quote }} is not host:port.
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.services" -}}
{{- $enabled := list }}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}{{ $enabled = append $enabled $name }}{{ end }}
{{- end }}
{{- if not $enabled -}}
services: every service is disabled; enable at least one (services.<name>.enabled).
{{- end }}
{{- end }}

{{- define "motcua.validateValues.gracePeriod" -}}
{{- if le (float64 .Values.terminationGracePeriodSeconds) (float64 .Values.config.shutdownGrace) -}}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }} must be more than
  config.shutdownGrace ({{ .Values.config.shutdownGrace }}): the pods would be killed while draining calls.
{{- end }}
{{- end }}

{{- define "motcua.validateValues.extraEnvVars" -}}
{{- $root := . }}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}
{{- $managed := splitList "," (include "motcua.managedEnvNames" (dict "name" $name)) }}
{{- range $where, $vars := dict "extraEnvVars" $root.Values.extraEnvVars (printf "services.%s.extraEnvVars" $name) $svc.extraEnvVars }}
{{- range $vars }}
{{- if has .name $managed }}
{{ $where }}: {{ .name }} is set by the chart for {{ $name }} and cannot be overridden here
  {{- if eq .name "POSTGRES_DBNAME" }} (use services.{{ $name }}.database){{ end }}
  {{- if eq .name "POSTGRES_PASSWORD" }} (use postgresql.existingSecret){{ end }}
  {{- if eq .name "MOTCUA_HEALTH_TIMEOUT" }} (use services.gateway.healthTimeout){{ end }}
  {{- if hasPrefix "MOTCUA_SIGNING_" .name }} (use the signing values){{ end }}
  {{- if hasPrefix "MOTCUA_IDENTITY_" .name }} (use the identity values){{ end }}.
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.gateway" -}}
{{- $gw := .Values.services.gateway }}
{{- $readiness := .Values.probes.readiness }}
{{- if and $gw.enabled $readiness.enabled (not $gw.customReadinessProbe) (le (float64 $readiness.timeoutSeconds) (float64 $gw.healthTimeout)) }}
probes.readiness.timeoutSeconds: {{ $readiness.timeoutSeconds }} must be more than services.gateway.healthTimeout
  ({{ $gw.healthTimeout }}): the gateway's /healthz waits that long for a slow backend before answering.
{{- end }}
{{- if and $gw.enabled (eq $gw.service.type "ClusterIP") (not (kindIs "invalid" $gw.service.nodePort)) }}
services.gateway.service.nodePort: set, but a ClusterIP Service has no node port; use type NodePort or LoadBalancer.
{{- end }}
{{- end }}

{{- define "motcua.validateValues.tracing" -}}
{{- if and .Values.tracing.samplerArg (not .Values.tracing.sampler) -}}
tracing.samplerArg: set without tracing.sampler; it only applies to a ratio sampler
  (e.g. tracing.sampler=parentbased_traceidratio).
{{- end }}
{{- end }}

{{- define "motcua.validateValues.labels" -}}
{{- $root := . }}
{{- $own := list "helm.sh/chart" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/managed-by" "app.kubernetes.io/part-of" "app.kubernetes.io/component" }}
{{- range $where, $labels := dict "commonLabels" .Values.commonLabels "podLabels" .Values.podLabels }}
{{- range $key, $_ := $labels }}
{{- if has $key $own }}
{{ $where }}: {{ $key }} is set by the chart.
{{- end }}
{{- end }}
{{- end }}
{{- $annotations := dict "podAnnotations" .Values.podAnnotations }}
{{- range $name, $svc := .Values.services }}
{{- $_ := set $annotations (printf "services.%s.podAnnotations" $name) $svc.podAnnotations }}
{{- end }}
{{- range $where, $map := $annotations }}
{{- if hasKey (default dict $map) "checksum/config" }}
{{ $where }}: checksum/config is set by the chart.
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.signing" -}}
{{- $signing := .Values.signing }}
{{- if .Values.services.signing.enabled }}
{{- if and $signing.devPki $signing.keysSecret -}}
signing: both signing.devPki and signing.keysSecret are set. Set only one: keysSecret for
  the keys of a real PKI, or devPki for a demo with a generated development PKI.
{{- else if not (or $signing.devPki $signing.keysSecret) -}}
signing.keysSecret: not set. The signing service needs its seal key, certificate and trust
  roots: create a Secret with agency-seal.key.pem, agency-seal.crt.pem and trust-roots.pem and
  set signing.keysSecret to its name (or, for a demo only, signing.devPki=true to generate a
  development PKI; or disable the service with services.signing.enabled=false).
{{- else if and $signing.pkcs11.module (not $signing.pkcs11.pinSecret) -}}
signing.pkcs11.pinSecret: not set. With signing.pkcs11.module the service logs into the HSM
  token with its user PIN: create a Secret whose key pin holds it and set its name here.
{{- else if and $signing.pkcs11.module (not (or $signing.pkcs11.tokenLabel $signing.pkcs11.slot)) -}}
signing.pkcs11.tokenLabel: not set. Name the HSM token holding the keys (or its slot,
  signing.pkcs11.slot).
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.auth" -}}
{{- $auth := .Values.auth }}
{{- $grpc := list }}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled (not (include "motcua.isGateway" (dict "name" $name))) }}{{ $grpc = append $grpc $name }}{{ end }}
{{- end }}
{{- $identity := .Values.services.identity.enabled }}
{{- if and $grpc (not $auth.issuer) }}
auth.issuer: not set. Every gRPC service accepts only bearer tokens whose `iss` is this value,
  and identity issues its tokens with it: set the public URL under which the platform's
  identity is reached (e.g. --set auth.issuer=https://dichvucong.example.gov.vn).
{{- end }}
{{- if and $grpc (not $identity) (not $auth.jwksUrl) }}
auth.jwksUrl: not set while services.identity is disabled. The gRPC services verify tokens
  with the identity service's public keys ({{ join ", " $grpc }}): enable services.identity,
  or set auth.jwksUrl to the JWKS of the identity service they trust
  (e.g. http://motcua-identity.identity.svc.cluster.local:8081/.well-known/jwks.json).
{{- end }}
{{- if and $identity $auth.jwksUrl }}
auth.jwksUrl: set while services.identity is enabled; the services then verify tokens with
  this release's identity ({{ include "motcua.auth.jwksUrl" . }}). Leave it empty, or disable
  services.identity to trust an identity service elsewhere.
{{- end }}
{{- end }}

{{- define "motcua.validateValues.identity" -}}
{{- $identity := .Values.identity }}
{{- $svc := .Values.services.identity }}
{{- if $svc.enabled }}
{{- if and $identity.devKeys $identity.keysSecret }}
identity: both identity.devKeys and identity.keysSecret are set. Set only one: keysSecret for
  the token signing keys you manage, or devKeys for a demo with a generated key.
{{- else if not (or $identity.devKeys $identity.keysSecret) }}
identity.keysSecret: not set. The identity service signs tokens with the EC P-256 private keys
  (PKCS#8 PEM, *.pem; the name sorting last signs) of a Secret you create: set
  identity.keysSecret to its name (or, for a demo only, identity.devKeys=true to generate a
  key; or disable the service with services.identity.enabled=false and set auth.jwksUrl).
{{- end }}
{{- if and $identity.keysSecret (not $identity.subjectKeksSecret) }}
identity.subjectKeksSecret: not set. The identity service seals each account's personal data
  under a key of its own, wrapped by key-encryption keys from a Secret you create (one file
  <id>.key each, base64 of 32 random bytes: openssl rand -base64 32 > k1.key): set
  identity.subjectKeksSecret to its name, and back the Secret up apart from the database.
{{- end }}
{{- range $identity.oidc.clients }}
{{- /* A client_secret in the values is refused by values.schema.json: secrets live in the Secret. */}}
{{- if and (ne (default "client_secret_basic" .token_endpoint_auth_method) "none") (not $identity.oidc.clientSecretsSecret) }}
identity.oidc.clientSecretsSecret: not set, but client {{ .client_id }} is confidential
  ({{ default "client_secret_basic" .token_endpoint_auth_method }}). Create a Secret holding its secret under the key
  {{ .client_id }} and name it in identity.oidc.clientSecretsSecret.
{{- end }}
{{- end }}
{{- if and $identity.devKeys (gt (int $svc.replicas) 1) }}
identity.devKeys: services.identity.replicas is {{ $svc.replicas }}, but each pod would generate
  its own key, and tokens one pod signs would fail against the keys another publishes. Use
  services.identity.replicas=1, or identity.keysSecret to share the keys.
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.notifications" -}}
{{- $notifications := .Values.notifications }}
{{- $svc := .Values.services.notifications }}
{{- if $svc.enabled }}
{{- if and $notifications.devKeys $notifications.subjectKeksSecret }}
notifications: both notifications.devKeys and notifications.subjectKeksSecret are set. Set only
  one: subjectKeksSecret for key-encryption keys you manage, or devKeys for a demo.
{{- else if not (or $notifications.devKeys $notifications.subjectKeksSecret) }}
notifications.subjectKeksSecret: not set. The notifications service seals each recipient's
  contact points and notices under a key of their own, wrapped by key-encryption keys from a
  Secret you create (one file <id>.key each: openssl rand -base64 32 > k1.key): set
  notifications.subjectKeksSecret to its name (or, for a demo only, notifications.devKeys=true).
{{- end }}
{{- if and $notifications.devKeys (gt (int $svc.replicas) 1) }}
notifications.devKeys: services.notifications.replicas is {{ $svc.replicas }}, but each pod would
  generate its own key-encryption key. Use notifications.subjectKeksSecret.
{{- end }}
{{- end }}
{{- end }}

{{- define "motcua.validateValues.dossiersStorage" -}}
{{- $storage := .Values.dossiers.storage }}
{{- $replicas := int .Values.services.dossiers.replicas }}
{{- if and .Values.services.dossiers.enabled (eq $storage.type "claim") (not $storage.existingClaim) (gt $replicas 1) (not (has "ReadWriteMany" $storage.accessModes)) -}}
dossiers.storage.accessModes: services.dossiers.replicas is {{ $replicas }}, but the claim the chart creates
  is not ReadWriteMany: every replica reads and writes the same attachments. Add ReadWriteMany
  (a storage class that offers it), or set dossiers.storage.existingClaim.
{{- end }}
{{- end }}

{{- define "motcua.validateValues.migrate" -}}
{{- if .Values.migrate.enabled }}
{{- if not .Values.migrate.adminSecret }}
migrate.adminSecret: not set. The provisioning Job needs a Secret with the PostgreSQL
  administrator's username and password (keys username, password), created before the install.
{{- end }}
{{- if not .Values.postgresql.existingSecret }}
migrate.enabled: needs postgresql.existingSecret. The Job runs before the release's own
  Secret exists; create the services' password Secret beforehand and name it there.
{{- end }}
{{- end }}
{{- end }}
