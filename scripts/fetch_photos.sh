#!/usr/bin/env bash
# Builds the real-photo corpus in data/photos/ from natural photographs shipped in
# Debian's opencv-doc package (OpenCV's sample data). Downloads the .deb with
# apt-get (no install), extracts the chosen photos, and writes a manifest with each
# file's source, split and licence. Whole photos are split into train/ and val/:
# training never sees a val/ photo. Idempotent: does nothing if the manifest exists.
# Usage: scripts/fetch_photos.sh [dest]   (default data/photos)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-data/photos}"
log() { printf '[photos] %s\n' "$*"; }

if [ -f "$DEST/MANIFEST.tsv" ]; then
  log "$DEST already populated ($(($(wc -l < "$DEST/MANIFEST.tsv") - 1)) photos)"
  exit 0
fi

# Held out for validation, demos and tests (never used for training).
VAL=(fruits.jpg baboon.jpg building.jpg messi5.jpg squirrel_cls.jpg scenetext03.jpg)
# Natural photographs for training (calibration boards, logos, drawings and text crops excluded).
TRAIN=(aero1.jpg aero3.jpg apple.jpg butterfly.jpg home.jpg leuvenA.jpg leuvenB.jpg orange.jpg
       board.jpg ela_original.jpg aloeL.jpg rubberwhale1.png basketball1.png chicky_512.png
       smarties.png graf1.png plant.jpg hfs_000.jpg hfs_001.jpg hfs_002.jpg scenetext01.jpg
       scenetext02.jpg scenetext04.jpg scenetext05.jpg scenetext06.jpg stanford.png reg_home.png)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "downloading opencv-doc (~96 MB, not installed) with apt-get download"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
( cd "$work" && apt-get download -q opencv-doc >/dev/null 2>&1 ) || {
  log "apt-get download failed; retrying after apt-get update"
  $SUDO apt-get update -q >/dev/null
  ( cd "$work" && apt-get download -q opencv-doc )
}
deb="$(ls "$work"/opencv-doc_*.deb)"
version="$(dpkg-deb -f "$deb" Version)"
log "extracting $(basename "$deb")"
dpkg -x "$deb" "$work/x"
ex="$work/x/usr/share/doc/opencv-doc/examples"

# Source path inside the package for a corpus file name.
source_of() {
  case "$1" in
    plant.jpg) echo "$ex/alphamat/input_images/plant.jpg" ;;
    hfs_*) echo "$ex/hfs/data/${1#hfs_}" ;;
    scenetext*) echo "$ex/text/$1" ;;
    reg_home.png) echo "$ex/reg/home.png" ;;
    stanford.png) echo "$ex/ximgproc/stanford.png" ;;
    *) echo "$ex/data/$1" ;;
  esac
}

mkdir -p "$DEST/train" "$DEST/val"
cp "$work/x/usr/share/doc/opencv-doc/copyright" "$DEST/COPYRIGHT.opencv-doc"
printf 'file\tsplit\tsource\tpackage\tlicence\n' > "$DEST/MANIFEST.tsv.tmp"
add() {
  local split="$1" name="$2" src
  src="$(source_of "$name")"
  [ -f "$src" ] || { log "missing in package: $src"; exit 1; }
  cp "$src" "$DEST/$split/$name"
  printf '%s/%s\t%s\t%s\topencv-doc %s\t%s\n' "$split" "$name" "$split" "${src#"$work/x"}" "$version" \
    "Apache-2.0 AND BSD-3-Clause (OpenCV sample data; see COPYRIGHT.opencv-doc)" >> "$DEST/MANIFEST.tsv.tmp"
}
for f in "${VAL[@]}"; do add val "$f"; done
for f in "${TRAIN[@]}"; do add train "$f"; done
mv "$DEST/MANIFEST.tsv.tmp" "$DEST/MANIFEST.tsv"
log "wrote ${#TRAIN[@]} train + ${#VAL[@]} val photos to $DEST (manifest: $DEST/MANIFEST.tsv)"
