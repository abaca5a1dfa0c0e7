#!/usr/bin/env bash
# End to end on a real (kind) cluster, for people with Docker: builds the image,
# loads it into a fresh kind cluster, installs the Helm chart, issues the
# example CA Certificate and waits for it to be Ready. The cluster is deleted
# on exit, success or not (KEEP_CLUSTER=1 keeps it for a look around).
#
#   bash hack/kind-e2e.sh
#
# Needs docker, kind, helm, kubectl and openssl on PATH. Environment:
#   CLUSTER=certkeeper-e2e      kind cluster name
#   KIND_NODE_IMAGE=...         kind node image (default: kind's own)
#   BUILDER=docker|buildah      docker build (default), or hack/build-image.sh
#                               (buildah, as root) and `kind load image-archive`
#   KEEP_CLUSTER=1              do not delete the cluster at the end
#
# Not run by CI (no Docker there): the image itself is built and run by
# test/integration/image.test.ts, the chart by test/integration/chart.test.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLUSTER=${CLUSTER:-certkeeper-e2e}
BUILDER=${BUILDER:-docker}
NAMESPACE=certkeeper
TEAM_NAMESPACE=shop
RELEASE=certkeeper
CERTIFICATE=orders-internal

log() { printf '[kind-e2e] %s\n' "$*"; }
die() { printf '[kind-e2e] error: %s\n' "$*" >&2; exit 1; }

for tool in kind helm kubectl openssl node; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
case $BUILDER in
  docker) command -v docker >/dev/null || die "docker is missing (or use BUILDER=buildah)" ;;
  buildah) ;;
  *) die "BUILDER must be docker or buildah, not $BUILDER" ;;
esac

version=$(node -p 'require("./package.json").version')
# The chart's default image.repository; the tag is the package version.
repository=localhost/certkeeper
image=$repository:$version
work=$(mktemp -d)
kubeconfig=$work/kubeconfig
export KUBECONFIG=$kubeconfig
created=false

finish() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$created" = true ]; then
    log "failed; the operator's state and logs:"
    kubectl -n "$NAMESPACE" get pods -o wide || true
    kubectl -n "$TEAM_NAMESPACE" describe certificate "$CERTIFICATE" || true
    kubectl -n "$NAMESPACE" logs -l "app.kubernetes.io/instance=$RELEASE" --tail=50 --prefix || true
  fi
  if [ "$created" = true ]; then
    if [ "${KEEP_CLUSTER:-}" = 1 ]; then
      log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER when done; kubeconfig: $kubeconfig)"
    else
      log "deleting cluster $CLUSTER"
      kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    fi
  fi
  [ "${KEEP_CLUSTER:-}" = 1 ] || rm -rf "$work"
  exit "$status"
}
trap finish EXIT

log "creating kind cluster $CLUSTER"
kind_args=(create cluster --name "$CLUSTER" --kubeconfig "$kubeconfig" --wait 120s)
[ -z "${KIND_NODE_IMAGE:-}" ] || kind_args+=(--image "$KIND_NODE_IMAGE")
created=true
kind "${kind_args[@]}"

log "building $image with $BUILDER"
if [ "$BUILDER" = docker ]; then
  docker build -t "$image" \
    --build-arg VERSION="$version" \
    --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" .
  kind load docker-image "$image" --name "$CLUSTER"
else
  bash hack/build-image.sh --archive "$work/certkeeper.tar"
  kind load image-archive "$work/certkeeper.tar" --name "$CLUSTER"
fi

log "helm install $RELEASE ./charts/certkeeper"
helm install "$RELEASE" ./charts/certkeeper --namespace "$NAMESPACE" --create-namespace \
  --set image.repository="$repository" --set image.tag="$version" --set image.pullPolicy=Never \
  --wait --timeout 5m

log "CA key pair for the example TLSPolicy internal-ca (charts/certkeeper/examples/tlspolicy-ca.yaml)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=certkeeper kind-e2e CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
kubectl -n "$NAMESPACE" create secret tls internal-ca --cert="$work/ca.crt" --key="$work/ca.key"
rm -f "$work/ca.key"
kubectl apply -f charts/certkeeper/examples/tlspolicy-ca.yaml

kubectl create namespace "$TEAM_NAMESPACE"
kubectl label namespace "$TEAM_NAMESPACE" certkeeper.dev/issuer=internal-ca
# certificates.yaml holds one Certificate per example policy; only the CA
# policy exists here, so apply just its Certificate.
awk -v want="  name: $CERTIFICATE" '
  /^---/ { if (keep) printf "%s", doc; doc = ""; keep = 0; next }
  { doc = doc $0 "\n"; if ($0 == want) keep = 1 }
  END { if (keep) printf "%s", doc }
' charts/certkeeper/examples/certificates.yaml > "$work/certificate.yaml"
grep -q "kind: Certificate" "$work/certificate.yaml" || die "no Certificate $CERTIFICATE in charts/certkeeper/examples/certificates.yaml"
kubectl apply -n "$TEAM_NAMESPACE" -f "$work/certificate.yaml"

log "waiting for Certificate $TEAM_NAMESPACE/$CERTIFICATE to be Ready"
kubectl -n "$TEAM_NAMESPACE" wait --for=condition=Ready "certificate/$CERTIFICATE" --timeout=180s

log "result"
kubectl -n "$NAMESPACE" get pods -o wide
kubectl -n "$TEAM_NAMESPACE" get certificates -o wide
secret=$(kubectl -n "$TEAM_NAMESPACE" get "certificate/$CERTIFICATE" -o jsonpath='{.spec.secretName}')
kubectl -n "$TEAM_NAMESPACE" get secret "$secret" -o jsonpath='{.data.tls\.crt}' | base64 -d \
  | openssl x509 -noout -subject -issuer -enddate -ext subjectAltName
log "passed: $image on kind, Certificate $TEAM_NAMESPACE/$CERTIFICATE Ready"
