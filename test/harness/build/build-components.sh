#!/usr/bin/env bash
# Builds the real components the tests, demo and benchmarks run against, from the Go module
# proxy, and caches each binary outside the repository, keyed by version:
#   ${CAIRN_CACHE:-~/.cache/cairn}/bin/<component>-<version>/<binary>
# A component is built only when its cache folder is missing. Usage:
#   build-components.sh [all|etcd|kubernetes|minio|mc|kopia]...
# Versions are pinned in components.env beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=components.env
source "$here/components.env"
cache=${CAIRN_CACHE:-$HOME/.cache/cairn}
export GOFLAGS="${GOFLAGS:-} -trimpath"
export CGO_ENABLED=${CGO_ENABLED:-0}
mkdir -p "$cache/bin" "$cache/work" "$cache/logs"

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# install_into <component> <version> <fn> : runs <fn> <tmpdir> and moves the result in place
# atomically, so an interrupted build never leaves a half-filled cache folder.
install_into() {
  local name=$1 version=$2 fn=$3
  local dest="$cache/bin/$name-$version"
  if [[ -d $dest ]]; then log "$name $version: cached at $dest"; return 0; fi
  command -v go >/dev/null || { log "$name: 'go' is not on PATH; install Go to build it"; return 1; }
  local tmp="$cache/work/$name-$version.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp/bin"
  local started=$SECONDS logf="$cache/logs/$name-$version.log"
  log "$name $version: building (log: $logf)"
  if ! "$fn" "$tmp" >"$logf" 2>&1; then
    log "$name $version: BUILD FAILED; last lines of $logf:"; tail -n 30 "$logf" >&2
    rm -rf "$tmp"; return 1
  fi
  mv "$tmp/bin" "$dest"; rm -rf "$tmp"
  log "$name $version: built in $((SECONDS - started))s -> $dest"
}

build_minio() { GOBIN="$1/bin" go install "github.com/minio/minio@$MINIO_VERSION"; }
build_mc() { GOBIN="$1/bin" go install "github.com/minio/mc@$MC_VERSION"; }
# `go install kopia@version` looks up the module's deprecation through the proxy's version list,
# which the proxy refuses for kopia (403); a helper module that requires the pinned version and
# builds its main package makes the same binary without that lookup.
build_kopia() {
  local mod="$1/mod"; mkdir -p "$mod"
  (
    cd "$mod"
    printf 'module cairn.local/kopia\n\ngo 1.26\n\nrequire github.com/kopia/kopia %s\n' "$KOPIA_VERSION" >go.mod
    cat >tools.go <<'GO'
//go:build tools

// Helper module: pins the kopia binary the benchmarks compare against.
package tools

import _ "github.com/kopia/kopia"
GO
    go mod tidy -e
    go build -o "$1/bin/kopia" github.com/kopia/kopia
  )
}

# etcd's own root module uses replace lines, so `go install` of it is refused; a helper module
# that requires the published server module and calls its entry point builds the same binary.
build_etcd() {
  local mod="$1/mod"; mkdir -p "$mod"
  cat >"$mod/go.mod" <<GOMOD
module cairn.local/etcd
go 1.26
GOMOD
  cat >"$mod/main.go" <<'GO'
// Helper entry point: the etcd server binary, from the published go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$mod" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && go mod tidy && go build -o "$1/bin/etcd" .)
}

# k8s.io/kubernetes maps its k8s.io/* staging modules to ./staging with replace lines, which a
# dependency cannot use. The helper module's replace lines are generated from that go.mod: each
# staging module goes to its published v0.<minor>.<patch> twin.
build_kubernetes() {
  local mod="$1/mod"; mkdir -p "$mod"
  local staging="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$mod"
    printf 'module cairn.local/kubernetes\n\ngo 1.26\n' >go.mod
    go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >download.json
    local kmod; kmod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' download.json)
    {
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      echo "replace ("
      sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$staging"'#p' "$kmod"
      echo ")"
    } >>go.mod
    cat >tools.go <<'GO'
//go:build tools

// Helper module: pins the Kubernetes binaries the test cluster runs.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy -e
    go build -o "$1/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
  )
}

targets=("$@"); [[ ${#targets[@]} -eq 0 || ${targets[0]} == all ]] && targets=(minio mc etcd kubernetes)
rc=0
for t in "${targets[@]}"; do
  case $t in
    minio) install_into minio "$MINIO_VERSION" build_minio || rc=1 ;;
    mc) install_into mc "$MC_VERSION" build_mc || rc=1 ;;
    etcd) install_into etcd "$ETCD_VERSION" build_etcd || rc=1 ;;
    kubernetes) install_into kubernetes "$KUBERNETES_VERSION" build_kubernetes || rc=1 ;;
    kopia) install_into kopia "$KOPIA_VERSION" build_kopia || rc=1 ;;
    *) log "unknown component '$t' (allowed: all, minio, mc, etcd, kubernetes, kopia)"; rc=2 ;;
  esac
done
exit $rc
