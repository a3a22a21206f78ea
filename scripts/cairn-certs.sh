#!/usr/bin/env bash
# Certificates of the agent channel (mTLS between the coordinator and the node agents), made with
# openssl and stored as Secrets with kubectl: nothing else to install. docs/operations.md
# "Install" and "Certificate rotation" say when to run what.
#
#   ca                  make the CA (ca.key, ca.crt) in DIR, unless it is there
#   coordinator         issue the coordinator's client certificate (coordinator.cairn.internal)
#                       into the Secret cairn-coordinator-tls
#   agents [NODE...]    issue each node's serving certificate (<node>.agents.cairn.internal)
#                       into the Secret cairn-agent-tls-<node>: for the nodes named, or for
#                       every node of the cluster that has none yet; with --cert-manager, apply
#                       a cert-manager Certificate per node instead (the Issuer cairn-ca of
#                       manifests/overlays/cert-manager issues and renews them)
#   all                 ca, coordinator and agents
#   status              each Secret's subject and expiry
#   prune               delete the Secrets of nodes that are gone
# Options: -n NAMESPACE (cairn-system), -d DIR (./cairn-ca), --days N (365, leaf certificates),
# --renew (coordinator, agents: issue again although the Secret exists), --cert-manager.
# Environment: KUBECTL (kubectl), and kubectl's own (KUBECONFIG, ...).
#
# Only the CA stays on disk, in DIR (keep it offline, it can issue any identity). Every other key
# is made in a temporary directory, put into its Secret and deleted. The identities are those of
# common/src/agent-identity.ts; the agents and the coordinator read their files at start, so
# after a renewal restart them (the script says how).
set -euo pipefail

namespace=cairn-system
dir=./cairn-ca
days=365
renew=false
cert_manager=false
kubectl=${KUBECTL:-kubectl}
coordinator_identity=coordinator.cairn.internal
agent_domain=agents.cairn.internal
agent_prefix=cairn-agent-tls-

die() { echo "cairn-certs: $*" >&2; exit 1; }
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--namespace) namespace=${2:?}; shift 2 ;;
    -d|--dir) dir=${2:?}; shift 2 ;;
    --days) days=${2:?}; shift 2 ;;
    --renew) renew=true; shift ;;
    --cert-manager) cert_manager=true; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -gt 0 ] || usage
command=${args[0]}
nodes=("${args[@]:1}")
if ! [[ "$days" =~ ^[0-9]+$ ]] || [ "$days" -lt 1 ]; then die "--days must be a positive number of days, got $days"; fi
command -v openssl >/dev/null || die "openssl is not installed"
if $cert_manager && [ "$command" != agents ] && [ "$command" != prune ]; then die "--cert-manager goes with agents and prune"; fi

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

make_ca() {
  if [ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ]; then
    echo "CA: $dir/ca.crt exists, kept"
    return
  fi
  mkdir -p "$dir"
  ec_key "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj /CN=cairn-agent-ca \
    -addext basicConstraints=critical,CA:TRUE,pathlen:0 -addext keyUsage=critical,keyCertSign,cRLSign
  echo "CA: made $dir/ca.crt (10 years); keep $dir/ca.key offline"
}

require_ca() {
  if [ ! -f "$dir/ca.key" ] || [ ! -f "$dir/ca.crt" ]; then die "no CA in $dir (run: $0 -d $dir ca)"; fi
}

# issue NAME IDENTITY serverAuth|clientAuth: a key and certificate in $work/NAME.{key,crt}.
issue() {
  local name=$1 identity=$2 usage=$3
  local cn=$identity
  [ ${#cn} -le 64 ] || cn=cairn-agent # a subject CN has at most 64 characters; the SAN is what counts
  ec_key "$work/$name.key"
  openssl req -new -key "$work/$name.key" -out "$work/$name.csr" -subj "/CN=$cn"
  printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
    "extendedKeyUsage=$usage" "subjectAltName=DNS:$identity" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
}

secret_exists() { "$kubectl" -n "$namespace" get secret "$1" >/dev/null 2>&1; }

# store SECRET NAME NODE: the Secret (type kubernetes.io/tls, with ca.crt) from $work/NAME.*.
store() {
  local secret=$1 name=$2 node=$3
  "$kubectl" -n "$namespace" create secret generic "$secret" --type kubernetes.io/tls \
      --from-file "tls.crt=$work/$name.crt" --from-file "tls.key=$work/$name.key" --from-file "ca.crt=$dir/ca.crt" \
      --dry-run=client -o yaml \
    | "$kubectl" label --local -f - -o yaml app.kubernetes.io/name=cairn app.kubernetes.io/part-of=cairn cairn.dev/agent-tls="$([ -n "$node" ] && echo true || echo false)" \
    | "$kubectl" annotate --local -f - -o yaml cairn.dev/node="$node" \
    | "$kubectl" apply --server-side --force-conflicts --field-manager cairn-certs -f - >/dev/null
  rm -f "$work/$name".*
}

make_coordinator() {
  require_ca
  if ! $renew && secret_exists cairn-coordinator-tls; then
    echo "coordinator: Secret cairn-coordinator-tls exists, kept (--renew to issue again)"
    return
  fi
  issue coordinator "$coordinator_identity" clientAuth
  store cairn-coordinator-tls coordinator ''
  echo "coordinator: Secret cairn-coordinator-tls ($coordinator_identity, $days days)"
  $renew && echo "  restart: $kubectl -n $namespace rollout restart deployment/cairn-coordinator"
  return 0
}

# A cert-manager Certificate for one node's agent, issued by the overlay's Issuer cairn-ca.
agent_certificate() {
  local node=$1 secret=$2
  cat <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: $secret
  namespace: $namespace
  labels: {app.kubernetes.io/name: cairn, app.kubernetes.io/component: agent}
  annotations: {cairn.dev/node: '$node'}
spec:
  secretName: $secret
  secretTemplate:
    labels: {app.kubernetes.io/name: cairn, cairn.dev/agent-tls: 'true'}
    annotations: {cairn.dev/node: '$node'}
  dnsNames: ['$node.$agent_domain']
  duration: 2160h
  renewBefore: 720h
  privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}
  usages: [digital signature, server auth]
  issuerRef: {group: cert-manager.io, kind: Issuer, name: cairn-ca}
EOF
}

make_agents() {
  $cert_manager || require_ca
  local list=("${nodes[@]}") issued=0
  if [ ${#list[@]} -eq 0 ]; then
    mapfile -t list < <("$kubectl" get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')
    [ ${#list[@]} -gt 0 ] || die "the cluster has no nodes"
  fi
  for node in "${list[@]}"; do
    local secret="$agent_prefix$node"
    [ ${#secret} -le 253 ] || die "node $node: the Secret name $secret is longer than 253 characters"
    [ $((${#node} + ${#agent_domain} + 1)) -le 253 ] || die "node $node: $node.$agent_domain is longer than 253 characters"
    if $cert_manager; then
      agent_certificate "$node" "$secret" | "$kubectl" apply --server-side --field-manager cairn-certs -f - >/dev/null
      echo "agent $node: Certificate $secret ($node.$agent_domain, issued by cert-manager)"
      continue
    fi
    if ! $renew && secret_exists "$secret"; then
      echo "agent $node: Secret $secret exists, kept"
      continue
    fi
    issue "agent-$node" "$node.$agent_domain" serverAuth
    store "$secret" "agent-$node" "$node"
    echo "agent $node: Secret $secret ($node.$agent_domain, $days days)"
    issued=$((issued + 1))
  done
  if $renew && [ $issued -gt 0 ]; then
    echo "  restart: $kubectl -n $namespace rollout restart daemonset/cairn-agent"
  fi
  return 0
}

agent_secrets() {
  "$kubectl" -n "$namespace" get secrets -l cairn.dev/agent-tls=true \
    -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.annotations.cairn\.dev/node}{"\n"}{end}'
}

status() {
  for secret in cairn-coordinator-tls $(agent_secrets | cut -d' ' -f1); do
    if ! secret_exists "$secret"; then echo "$secret: missing"; continue; fi
    "$kubectl" -n "$namespace" get secret "$secret" -o 'jsonpath={.data.tls\.crt}' | base64 -d >"$work/status.crt"
    echo "$secret: $(openssl x509 -in "$work/status.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '), $(openssl x509 -in "$work/status.crt" -noout -enddate)"
  done
}

prune() {
  local present
  present=$("$kubectl" get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')
  while read -r secret node; do
    [ -n "$secret" ] || continue
    if ! grep -qxF "$node" <<<"$present"; then
      if $cert_manager; then "$kubectl" -n "$namespace" delete certificates.cert-manager.io "$secret" --ignore-not-found >/dev/null; fi
      "$kubectl" -n "$namespace" delete secret "$secret" --ignore-not-found >/dev/null
      echo "agent $node: node gone, Secret $secret deleted"
    fi
  done < <(agent_secrets)
}

case "$command" in
  ca) make_ca ;;
  coordinator) make_coordinator ;;
  agents) make_agents ;;
  all) make_ca; make_coordinator; make_agents ;;
  status) status ;;
  prune) prune ;;
  *) die "unknown command $command (ca, coordinator, agents, all, status, prune)" ;;
esac
