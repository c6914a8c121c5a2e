{{/* The Deployment of one service (dict root name svc). */}}
{{- define "motcua.deployment" -}}
{{- $root := .root }}
{{- $values := $root.Values }}
{{- $svc := .svc }}
{{- $gateway := include "motcua.isGateway" . }}
{{- $identity := include "motcua.isIdentity" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "motcua.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "motcua.componentLabels" . | nindent 4 }}
  {{- with include "motcua.annotations" (dict "root" $root) | trim }}
  {{- . | nindent 2 }}
  {{- end }}
spec:
  {{- if not (include "motcua.autoscaled" .) }}
  {{- /* Left out when autoscaled: an upgrade would otherwise reset the autoscaler's count. */}}
  replicas: {{ $svc.replicas }}
  {{- end }}
  {{- if and $identity $values.identity.devKeys }}
  # Each pod generates its own development key: never two identity pods at once, not even
  # during a rollout, or tokens signed by one would be checked against the other's keys.
  strategy:
    type: Recreate
  {{- end }}
  revisionHistoryLimit: {{ $values.revisionHistoryLimit }}
  selector:
    matchLabels: {{- include "motcua.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "motcua.componentLabels" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "motcua.configData" $root | sha256sum }}
        {{- if and $identity $values.identity.oidc.clients }}
        checksum/oidc-clients: {{ include "motcua.identity.oidcClients" $root | sha256sum }}
        {{- end }}
        {{- /* No checksum of the password: a pod annotation readable by more people than the Secret
        would carry an unsalted hash of it. After changing the password, `kubectl rollout restart`. */}}
        {{- with merge (deepCopy (default dict $svc.podAnnotations)) (deepCopy $values.podAnnotations) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "motcua.serviceAccountName" $root }}
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      # No <SERVICE>_PORT/_HOST variables: they could shadow the kernel's POSTGRES_* or KAFKA_* settings.
      enableServiceLinks: false
      {{- with $values.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext: {{- toYaml $values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with include "motcua.affinity" . | trim }}
      affinity: {{- . | nindent 8 }}
      {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "motcua.image" $root | quote }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          command: ["python", "-m", {{ printf "motcua.%s" .name | quote }}]
          ports:
            {{- if $gateway }}
            - name: http
              containerPort: {{ include "motcua.httpPort" $root }}
              protocol: TCP
            {{- else }}
            - name: grpc
              containerPort: {{ include "motcua.grpcPort" $root }}
              protocol: TCP
            {{- end }}
            {{- if $identity }}
            - name: http
              containerPort: {{ include "motcua.identity.httpPort" $root }}
              protocol: TCP
            {{- end }}
            {{- if include "motcua.isNotifications" . }}
            - name: http
              containerPort: {{ include "motcua.notifications.httpPort" $root }}
              protocol: TCP
            {{- end }}
            {{- if $values.metrics.enabled }}
            - name: metrics
              containerPort: {{ $values.metrics.port }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ printf "%s-config" (include "motcua.fullname" $root) }}
          env: {{- include "motcua.env" . | trim | nindent 12 }}
          {{- include "motcua.probes" . | trim | nindent 10 }}
          resources: {{- toYaml (default $values.resources $svc.resources) | nindent 12 }}
          securityContext: {{- toYaml $values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if include "motcua.isSigning" . }}
            {{- include "motcua.signing.volumeMounts" . | trim | nindent 12 }}
            {{- end }}
            {{- if eq .name "dossiers" }}
            - name: dossiers-data
              mountPath: {{ include "motcua.dossiers.dataDir" $root }}
            {{- if $root.Values.dossiers.subjectKeksSecret }}
            - name: dossiers-subject-keks
              mountPath: {{ include "motcua.dossiers.subjectKeksDir" $root }}
              readOnly: true
            {{- end }}
            {{- end }}
            {{- if $identity }}
            {{- include "motcua.identity.volumeMounts" . | trim | nindent 12 }}
            {{- end }}
            {{- if not $gateway }}
            {{- include "motcua.kafka.volumeMounts" $root | trim | nindent 12 }}
            {{- end }}
            {{- if eq .name "notifications" }}
            {{- include "motcua.notifications.volumeMounts" $root | trim | nindent 12 }}
            {{- end }}
      volumes:
        # The root filesystem is read-only; Python and its libraries may still want a scratch directory.
        - name: tmp
          emptyDir: {}
        {{- if include "motcua.isSigning" . }}
        {{- include "motcua.signing.volumes" . | trim | nindent 8 }}
        {{- end }}
        {{- if eq .name "dossiers" }}
        {{- include "motcua.dossiers.volumes" . | trim | nindent 8 }}
        {{- end }}
        {{- if $identity }}
        {{- include "motcua.identity.volumes" . | trim | nindent 8 }}
        {{- end }}
        {{- if not $gateway }}
        {{- include "motcua.kafka.volumes" $root | trim | nindent 8 }}
        {{- end }}
        {{- if eq .name "notifications" }}
        {{- include "motcua.notifications.volumes" $root | trim | nindent 8 }}
        {{- end }}
{{- end }}
