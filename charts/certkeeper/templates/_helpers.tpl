{{/* Chart name, or nameOverride. */}}
{{- define "certkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride; else the release name when it already contains
the chart name (release "certkeeper" -> "certkeeper"); else "<release>-<chart>".
*/}}
{{- define "certkeeper.fullname" -}}
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

{{- define "certkeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "certkeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certkeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "certkeeper.labels" -}}
helm.sh/chart: {{ include "certkeeper.chart" . }}
{{ include "certkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: certkeeper
{{- end }}

{{- define "certkeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "certkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Service the temporary ExternalName Services of HTTP-01 challenges point at. */}}
{{- define "certkeeper.solverServiceName" -}}
{{- printf "%s-acme-solver" (include "certkeeper.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "certkeeper.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the Alertmanager credentials and the ACME CA bundle are mounted. */}}
{{- define "certkeeper.alertmanagerDir" -}}/etc/certkeeper/alertmanager{{- end }}
{{- define "certkeeper.acmeCaDir" -}}/etc/certkeeper/acme-ca{{- end }}

{{/*
What the operator needs where Certificates live: the ClusterRole's rules when
the whole cluster is watched, a Role's in each watched namespace otherwise.
*/}}
{{- define "certkeeper.namespacedRules" -}}
# Certificates: the informer (list, watch), a fresh read before an ACME order
# (get), and the revokeOnDelete finalizer (patch).
- apiGroups: [certkeeper.dev]
  resources: [certificates]
  verbs: [get, list, watch, patch]
- apiGroups: [certkeeper.dev]
  resources: [certificates/status]
  verbs: [patch]
# TLS Secrets: the inventory reads them (list, watch); issuance writes each
# Certificate's Secret and its next-key Secret in the Certificate's namespace
# (get, create, update, delete). Cluster-wide, this also covers the key
# material in the release namespace (CA key pairs, ACME account keys, HTTP-01
# answers).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, delete]
# Events on Certificates, TLSPolicies and Services (patch: a repeated event
# counts up its series instead of piling up).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# Live endpoint validation: the Services and their EndpointSlices a
# Certificate's or a TLSPolicy's endpoints name.
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
# HTTP-01: a temporary ExternalName Service and Ingress (or HTTPRoute) per
# challenge in the Certificate's namespace, deleted when it is done.
- apiGroups: [""]
  resources: [services]
  verbs: [create, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [create, delete]
{{- if .Values.rbac.gatewayAPI }}
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [create, delete]
{{- end }}
{{- if .Values.reload.enabled }}
# spec.reload: the pod behind a stale address and its controller (a
# Deployment through its ReplicaSet), then a restart as kubectl rollout
# restart does (patch of the pod template). Only with reload.enabled.
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [patch]
{{- end }}
{{- end }}

{{/*
The inventory's read-only rules beyond TLS Secrets, for the sources and
consumers that are on (values inventory.*). Cluster-scoped kinds: always in
the <release>-inventory-sources ClusterRole. Namespaced kinds: there too when
the whole cluster is watched, in each watched namespace's Role otherwise.
*/}}
{{- define "certkeeper.inventoryClusterRules" -}}
{{- $sources := .Values.inventory.sources }}
{{- if has "webhooks" $sources }}
# caBundles of admission webhooks: an expired CA there fails every request the webhook intercepts.
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  verbs: [list, watch]
- apiGroups: [admissionregistration.k8s.io]
  resources: [mutatingwebhookconfigurations]
  verbs: [list, watch]
{{- end }}
{{- if has "apiservices" $sources }}
# caBundles of aggregated APIs (metrics-server, ...).
- apiGroups: [apiregistration.k8s.io]
  resources: [apiservices]
  verbs: [list, watch]
{{- end }}
{{- if has "crds" $sources }}
# caBundles of CRD conversion webhooks.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- end }}
{{- end }}

{{- define "certkeeper.inventoryNamespacedRules" -}}
{{- $consumers := .Values.inventory.consumers }}
{{- if .Values.inventory.configMapSelector }}
# Trust bundles in the ConfigMaps the label selector opts in (the watch carries the selector).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, watch]
{{- end }}
{{- if has "pods" $consumers }}
# Consumers: which Pods mount or read each Secret and ConfigMap (only the references are kept).
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
{{- end }}
{{- if has "ingresses" $consumers }}
# Consumers: which Ingresses serve each Secret (tls[].secretName).
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [list, watch]
{{- end }}
{{- if has "gateways" $consumers }}
# Consumers: which Gateways serve each Secret (listeners[].tls.certificateRefs).
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways]
  verbs: [list, watch]
{{- end }}
{{- end }}
