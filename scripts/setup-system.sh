#!/usr/bin/env bash
# System packages the tests and the local cluster need, installed when missing (Debian, as root):
# bubblewrap (the agent's job sandbox), openssl, zstd, jq, tar (recovery recipes), shellcheck
# (the Dockerfile linter checks RUN lines with it, test/manifests). Go builds the rest
# (test/harness/build/build-components.sh).
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v openssl >/dev/null || need+=(openssl)
command -v zstd >/dev/null || need+=(zstd)
command -v jq >/dev/null || need+=(jq)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v mkfifo >/dev/null || need+=(coreutils)
# prometheus: test/monitoring scrapes the coordinator and agents with Debian's Prometheus.
command -v prometheus >/dev/null || need+=(prometheus)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "setup-system: missing ${need[*]}; install them (needs root)" >&2; exit 1; fi
echo "setup-system: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
