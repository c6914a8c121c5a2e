{{/*
The NetworkPolicy of one service (dict root name svc): ingress only. A gRPC service admits
port 50051 from the pods of this release (identity also 8081, its JWKS; notifications 8082, the
providers' receipts the gateway passes); the gateway admits
port 8080 from anywhere.
Egress stays open (see networkPolicy in values.yaml).
*/}}
{{- define "motcua.networkPolicy" -}}
{{- $root := .root }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "motcua.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "motcua.componentLabels" . | nindent 4 }}
  {{- with include "motcua.annotations" (dict "root" $root) | trim }}
  {{- . | nindent 2 }}
  {{- end }}
spec:
  podSelector:
    matchLabels: {{- include "motcua.componentSelectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    {{- if include "motcua.isGateway" . }}
    - ports:
        - port: {{ include "motcua.httpPort" $root }}
          protocol: TCP
    {{- else }}
    - ports:
        - port: {{ include "motcua.grpcPort" $root }}
          protocol: TCP
        {{- if include "motcua.isIdentity" . }}
        - port: {{ include "motcua.identity.httpPort" $root }}
          protocol: TCP
        {{- end }}
        {{- if include "motcua.isNotifications" . }}
        - port: {{ include "motcua.notifications.httpPort" $root }}
          protocol: TCP
        {{- end }}
      from:
        - podSelector:
            matchLabels: {{- include "motcua.releaseSelectorLabels" $root | nindent 14 }}
    {{- end }}
    {{- if $root.Values.metrics.enabled }}
    - ports:
        - port: {{ $root.Values.metrics.port }}
          protocol: TCP
      {{- with $root.Values.metrics.from }}
      from: {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- with $root.Values.networkPolicy.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
