#!/usr/bin/env bash
# Restores one volume of an UNENCRYPTED Cairn backup with standard tools only (zstd, tar, jq,
# coreutils), from a local copy of the bucket (e.g. `mc mirror` or `aws s3 sync` of the
# location's prefix). Works for full and incremental backups. See docs/format.md.
#
#   restore-with-tar.sh <copy-of-prefix> <backup-name> <volume-id> <empty-target-dir>
#
# Limits of the recipe (Cairn's own restore has none of them): file names containing a newline
# are not deleted in step 3; xattrs other than user.* are not restored.
set -euo pipefail
root=$1 backup=$2 volume=$3 target=$4
index="$root/cairn/v1/backups/$backup/volumes/$volume.index.zst"
[ -f "$root/cairn/v1/backups/$backup/manifest.json" ] || { echo "no manifest: backup $backup is not complete" >&2; exit 1; }
# (jq reads the whole stream: `head` would make zstd die of SIGPIPE, which pipefail reports.)
lineage=$(zstd -dc "$index" | jq -r 'select(.cairn == "index") | .lineage')

# 1. Every pack the volume's index lists (its last line), oldest first: pack ids begin with
#    their creation time, so a newer copy of a file overwrites an older one.
zstd -dc "$index" | jq -r 'select(.end == true) | .packs[]' | LC_ALL=C sort -u > "$target/.cairn-packs"

# 2. Extract them in that order.
while read -r pack; do
  zstd -dc "$root/cairn/v1/packs/$lineage/$pack.pack" | tar -x --numeric-owner --xattrs --xattrs-include='user.*' -C "$target"
done < "$target/.cairn-packs"
rm "$target/.cairn-packs"

# 3. Remove what an older pack brought back but this backup did not have (deleted since).
keep=$(mktemp) have=$(mktemp)
zstd -dc "$index" | jq -r 'select(.type != null) | (.path // (.pathB64 | @base64d))' | LC_ALL=C sort > "$keep"
(cd "$target" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) > "$have"
LC_ALL=C comm -23 "$have" "$keep" | (cd "$target" && xargs -r -d '\n' rm -rf --)
rm -f "$keep" "$have"
