#!/usr/bin/env bash
# Installs what the engine benchmark runs besides Node and the components built by
# test/harness/build: restic (the Debian package), GNU time (peak RSS), zstd and tar (ceilings).
# Run as root, or with sudo available. bench/run.ts calls this when one of them is missing.
set -euo pipefail
need=()
command -v restic >/dev/null || need+=(restic)
[[ -x /usr/bin/time ]] || need+=(time)
command -v zstd >/dev/null || need+=(zstd)
command -v tar >/dev/null || need+=(tar)
if [[ ${#need[@]} -eq 0 ]]; then echo "bench/setup.sh: restic, time, zstd and tar are installed"; exit 0; fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "bench/setup.sh: need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "bench/setup.sh: installing ${need[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
restic version
