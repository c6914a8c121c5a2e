{{/* Whether the service (dict root name svc) is scaled by a HorizontalPodAutoscaler. */}}
{{- define "motcua.autoscaled" -}}
{{- if and .root.Values.autoscaling.enabled (has .name .root.Values.autoscaling.services) }}true{{ end }}
{{- end }}

{{/*
The gateway's public paths (root context): the API, its documentation and, with identity, the
OIDC provider that the gateway forwards to identity (/oauth2, /.well-known). The health probes
(/healthz, /livez) are not among them.
*/}}
{{- define "motcua.publicPaths" -}}
{{- $paths := list "/v1" "/docs" "/openapi.json" }}
{{- if .Values.services.identity.enabled }}
{{- $paths = concat $paths (list "/oauth2" "/.well-known") }}
{{- end }}
{{- toJson $paths }}
{{- end }}

{{- define "motcua.validateValues.availability" -}}
{{- $values := .Values }}
{{- $scaling := $values.autoscaling }}
{{- if $scaling.enabled }}
{{- if gt (int $scaling.minReplicas) (int $scaling.maxReplicas) }}
autoscaling.minReplicas: {{ $scaling.minReplicas }} is above autoscaling.maxReplicas {{ $scaling.maxReplicas }}.
{{- end }}
{{- if not (or $scaling.targetCPUUtilizationPercentage $scaling.targetMemoryUtilizationPercentage) }}
autoscaling: neither targetCPUUtilizationPercentage nor targetMemoryUtilizationPercentage is set.
{{- end }}
{{- range $scaling.services }}
{{- $svc := index $values.services . }}
{{- if not $svc.enabled }}
autoscaling.services: {{ . }} is not enabled (services.{{ . }}.enabled).
{{- else if and (eq . "identity") $values.identity.devKeys }}
autoscaling.services: identity cannot scale with identity.devKeys: each pod would generate its own
  signing key and tokens from one would fail on another. Use identity.keysSecret.
{{- else if and (eq . "signing") (not $values.signing.storage.existingClaim) }}
autoscaling.services: signing cannot scale without signing.storage.existingClaim (ReadWriteMany):
  each pod would keep the PDFs it signed on a volume of its own.
{{- else if and (eq . "dossiers") (not $values.dossiers.storage.existingClaim) (not (and (eq $values.dossiers.storage.type "claim") (has "ReadWriteMany" $values.dossiers.storage.accessModes))) }}
autoscaling.services: dossiers cannot scale on a volume its pods cannot share: set
  dossiers.storage.existingClaim (ReadWriteMany) or add ReadWriteMany to dossiers.storage.accessModes.
{{- end }}
{{- end }}
{{- end }}
{{- if and $values.ingress.enabled (not $values.ingress.host) }}
ingress.host: required with ingress.enabled (the host of auth.issuer, e.g. dichvucong.example.gov.vn).
{{- end }}
{{- if $values.httpRoute.enabled }}
{{- if not $values.httpRoute.parentRefs }}
httpRoute.parentRefs: required with httpRoute.enabled: the Gateway listener(s) to attach to,
  e.g. [{name: public, namespace: gateway-system, sectionName: https}].
{{- end }}
{{- if not $values.httpRoute.hostnames }}
httpRoute.hostnames: required with httpRoute.enabled (the host of auth.issuer).
{{- end }}
{{- end }}
{{- if and (or $values.ingress.enabled $values.httpRoute.enabled) (not $values.services.gateway.enabled) }}
ingress/httpRoute: they route to the gateway, but services.gateway.enabled is false.
{{- end }}
{{- end }}
