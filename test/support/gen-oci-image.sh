#!/usr/bin/env bash
# gen-oci-image.sh OUTDIR TAG SIZE_MIB [SIZE_MIB ...]
# Builds an OCI image layout (no Docker, no network) with one layer per SIZE_MIB argument,
# each layer a tar of random files (<= 16 MiB each) with deterministic headers, gzip -1 -n.
# COMPRESS=gzip (default) | none. Gzip layers keep skopeo's push byte-identical (digests unchanged);
# skopeo re-compresses uncompressed layers, changing the digests.
# The recipe is the one verified against skopeo, containerd, podman and docker in
# /work/shared/reference/real-parts.md section 2. Prints: manifest sha256:<hex> (<n> bytes) config sha256:<hex>
set -euo pipefail
OUT=$1; TAG=$2; shift 2
COMPRESS=${COMPRESS:-gzip}
rm -rf "$OUT"; mkdir -p "$OUT/blobs/sha256"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
layers_json=""; diffids_json=""; hist_json=""
i=0
for MB in "$@"; do
  i=$((i+1)); d="$WORK/l$i"; mkdir -p "$d/data/layer$i"
  left=$MB; j=0
  while [ "$left" -gt 0 ]; do
    n=$(( left > 16 ? 16 : left ))
    head -c $((n*1024*1024)) /dev/urandom > "$d/data/layer$i/f$j.bin"
    left=$((left-n)); j=$((j+1))
  done
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$d" -cf "$WORK/l$i.tar" data
  diffid=$(sha256sum "$WORK/l$i.tar" | cut -d' ' -f1)
  if [ "$COMPRESS" = gzip ]; then
    gzip -1 -n -c "$WORK/l$i.tar" > "$WORK/l$i.blob"; mt=application/vnd.oci.image.layer.v1.tar+gzip
  else
    cp "$WORK/l$i.tar" "$WORK/l$i.blob"; mt=application/vnd.oci.image.layer.v1.tar
  fi
  dg=$(sha256sum "$WORK/l$i.blob" | cut -d' ' -f1); sz=$(stat -c %s "$WORK/l$i.blob")
  mv "$WORK/l$i.blob" "$OUT/blobs/sha256/$dg"; rm -rf "$d" "$WORK/l$i.tar"
  layers_json+="${layers_json:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$dg\",\"size\":$sz}"
  diffids_json+="${diffids_json:+,}\"sha256:$diffid\""
  hist_json+="${hist_json:+,}{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"gen-oci-image layer$i ${MB}MB\"}"
done
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' "$diffids_json" "$hist_json" > "$WORK/config.json"
cdg=$(sha256sum "$WORK/config.json" | cut -d' ' -f1); csz=$(stat -c %s "$WORK/config.json"); mv "$WORK/config.json" "$OUT/blobs/sha256/$cdg"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' "$cdg" "$csz" "$layers_json" > "$WORK/manifest.json"
mdg=$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1); msz=$(stat -c %s "$WORK/manifest.json"); mv "$WORK/manifest.json" "$OUT/blobs/sha256/$mdg"
printf '{"imageLayoutVersion":"1.0.0"}' > "$OUT/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$mdg" "$msz" "$TAG" > "$OUT/index.json"
echo "manifest sha256:$mdg ($msz bytes) config sha256:$cdg"
