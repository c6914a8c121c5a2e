{{/* The Service of one service (dict root name svc). */}}
{{- define "motcua.service" -}}
{{- $root := .root }}
{{- $svc := .svc }}
{{- $gateway := include "motcua.isGateway" . }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "motcua.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "motcua.componentLabels" . | nindent 4 }}
  {{- with include "motcua.annotations" (dict "root" $root "extra" (and $gateway $svc.service.annotations)) | trim }}
  {{- . | nindent 2 }}
  {{- end }}
spec:
  {{- if $gateway }}
  type: {{ $svc.service.type }}
  ports:
    - name: http
      port: {{ $svc.service.port }}
      targetPort: http
      protocol: TCP
      appProtocol: http
      {{- if and (ne $svc.service.type "ClusterIP") (not (kindIs "invalid" $svc.service.nodePort)) }}
      nodePort: {{ $svc.service.nodePort }}
      {{- end }}
  {{- else }}
  type: ClusterIP
  ports:
    - name: grpc
      port: {{ include "motcua.grpcPort" $root }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- if include "motcua.isIdentity" . }}
    # The JWKS every service fetches to verify tokens.
    - name: http
      port: {{ include "motcua.identity.httpPort" $root }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- end }}
    {{- if include "motcua.isNotifications" . }}
    # The providers' delivery receipts, passed by the gateway.
    - name: http
      port: {{ include "motcua.notifications.httpPort" $root }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- end }}
  {{- end }}
  {{- if $root.Values.metrics.enabled }}
    # /metrics, for Prometheus (the ServiceMonitor names this port).
    - name: metrics
      port: {{ $root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
  {{- end }}
  selector: {{- include "motcua.componentSelectorLabels" . | nindent 4 }}
{{- end }}
