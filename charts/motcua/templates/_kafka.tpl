{{/*
How the services reach Kafka (kafka.*): the kernel reads MOTCUA_KAFKA_* and builds every Kafka
client from them (services/kernel/src/motcua/kernel/config.py, KafkaSettings).
*/}}
{{- define "motcua.kafka.caDir" -}}/etc/motcua/kafka/ca{{- end }}
{{- define "motcua.kafka.clientDir" -}}/etc/motcua/kafka/client{{- end }}

{{- define "motcua.kafka.usesSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{- define "motcua.kafka.usesTls" -}}
{{- if hasSuffix "SSL" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{/* The shared ConfigMap's Kafka part (part of the checksum/config annotation). */}}
{{- define "motcua.kafka.configData" -}}
{{- $kafka := .Values.kafka }}
KAFKA_BOOTSTRAP_SERVERS: {{ $kafka.bootstrapServers | quote }}
MOTCUA_KAFKA_SECURITY_PROTOCOL: {{ $kafka.securityProtocol | quote }}
MOTCUA_KAFKA_REPLICATION_FACTOR: {{ $kafka.replicationFactor | toString | quote }}
MOTCUA_KAFKA_MIN_INSYNC_REPLICAS: {{ $kafka.minInsyncReplicas | toString | quote }}
{{- if include "motcua.kafka.usesSasl" . }}
MOTCUA_KAFKA_SASL_MECHANISM: {{ $kafka.sasl.mechanism | quote }}
MOTCUA_KAFKA_SASL_USERNAME: {{ $kafka.sasl.username | quote }}
{{- end }}
{{- if include "motcua.kafka.usesTls" . }}
MOTCUA_KAFKA_SSL_CHECK_HOSTNAME: {{ $kafka.tls.checkHostname | toString | quote }}
{{- if $kafka.tls.caSecret }}
MOTCUA_KAFKA_SSL_CAFILE: {{ printf "%s/%s" (include "motcua.kafka.caDir" .) $kafka.tls.caSecretKey | quote }}
{{- end }}
{{- if $kafka.tls.clientCertSecret }}
MOTCUA_KAFKA_SSL_CERTFILE: {{ printf "%s/%s" (include "motcua.kafka.clientDir" .) $kafka.tls.clientCertKey | quote }}
MOTCUA_KAFKA_SSL_KEYFILE: {{ printf "%s/%s" (include "motcua.kafka.clientDir" .) $kafka.tls.clientKeyKey | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The SASL password of a Kafka client's container (root context). */}}
{{- define "motcua.kafka.env" -}}
{{- if include "motcua.kafka.usesSasl" . }}
- name: MOTCUA_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.existingSecretPasswordKey }}
{{- end }}
{{- end }}

{{/* The certificates of a Kafka client's container (root context): volumeMounts, then volumes. */}}
{{- define "motcua.kafka.volumeMounts" -}}
{{- if and (include "motcua.kafka.usesTls" .) .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: {{ include "motcua.kafka.caDir" . }}
  readOnly: true
{{- end }}
{{- if and (include "motcua.kafka.usesTls" .) .Values.kafka.tls.clientCertSecret }}
- name: kafka-client-cert
  mountPath: {{ include "motcua.kafka.clientDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "motcua.kafka.volumes" -}}
{{- $tls := .Values.kafka.tls }}
{{- if and (include "motcua.kafka.usesTls" .) $tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $tls.caSecret }}
    items:
      - key: {{ $tls.caSecretKey }}
        path: {{ $tls.caSecretKey }}
    defaultMode: 0444
{{- end }}
{{- if and (include "motcua.kafka.usesTls" .) $tls.clientCertSecret }}
- name: kafka-client-cert
  secret:
    secretName: {{ $tls.clientCertSecret }}
    items:
      - key: {{ $tls.clientCertKey }}
        path: {{ $tls.clientCertKey }}
      - key: {{ $tls.clientKeyKey }}
        path: {{ $tls.clientKeyKey }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "motcua.validateValues.kafkaSecurity" -}}
{{- $kafka := .Values.kafka }}
{{- if include "motcua.kafka.usesSasl" . }}
{{- if not $kafka.sasl.mechanism }}
kafka.sasl.mechanism: required with kafka.securityProtocol {{ $kafka.securityProtocol }} (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).
{{- end }}
{{- if not $kafka.sasl.username }}
kafka.sasl.username: required with kafka.securityProtocol {{ $kafka.securityProtocol }}.
{{- end }}
{{- if not $kafka.sasl.existingSecret }}
kafka.sasl.existingSecret: required with kafka.securityProtocol {{ $kafka.securityProtocol }}: the name of a Secret
  holding the password under kafka.sasl.existingSecretPasswordKey ("password"; a Strimzi KafkaUser's Secret).
{{- end }}
{{- else if or $kafka.sasl.mechanism $kafka.sasl.username $kafka.sasl.existingSecret }}
kafka.sasl: set, but kafka.securityProtocol is {{ $kafka.securityProtocol }}; use SASL_SSL (or SASL_PLAINTEXT) for SASL.
{{- end }}
{{- if and (not (include "motcua.kafka.usesTls" .)) (or $kafka.tls.caSecret $kafka.tls.clientCertSecret) }}
kafka.tls: a Secret is set, but kafka.securityProtocol is {{ $kafka.securityProtocol }}; use SSL or SASL_SSL for TLS.
{{- end }}
{{- if gt (int $kafka.minInsyncReplicas) (int $kafka.replicationFactor) }}
kafka.minInsyncReplicas: {{ $kafka.minInsyncReplicas }} exceeds kafka.replicationFactor {{ $kafka.replicationFactor }}; every write (acks=all) would fail.
{{- end }}
{{- end }}
