#!/usr/bin/env bash
# Builds data/corpus/: several hundred real photographs from Debian 12 packages, for training the
# image models (trainer: data.init_args.data_dir: data/corpus). docs/CORPUS.md has the details.
#
# What it does
#   1. apt-get download (no install) of the packages in PKGS into a cache,
#      ${XDG_CACHE_HOME:-$HOME/.cache}/mt-corpus/, so a second run downloads nothing;
#   2. extracts their image files (and the pictures inside GCompris' Qt .rcc bundles);
#   3. keeps photographs and drops drawings, renders, gradients and logos by the measured rule below
#      (scripts/corpus_filter.py does 3-5; run with /usr/bin/python3 + NumPy and ImageMagick);
#   4. removes duplicates (same picture at other sizes/crops, in one or several packages), keeping
#      the largest;
#   5. stores each photo with its long side <= 1600 px (area averaging) as JPEG quality 95 under
#      data/corpus/train/<package>/<name>.jpg, holds out ~8 % BY PHOTO (sha1 of "<package>/<name>")
#      in data/corpus/val/<package>/, adds data/photos (opencv-doc: its 6 val photos stay in val),
#      and writes MANIFEST.tsv (file, split, size, source, package, version, licence, statistics),
#      DROPPED.tsv (every dropped candidate and why), SUMMARY.tsv, COPYRIGHT/<package> and contact
#      sheets in review/.
#
# The rule (first failed test drops the file; statistics on the picture area-averaged to a long side
# <= 512 px, grey = 0.299R+0.587G+0.114B in 0..255, unless said otherwise):
#   svg        SVG/SVGZ files                                              (dropped outright)
#   small      long side < 256 px or short side < 192 px                   (dropped outright)
#   source     under /usr/share/doc/ (screenshots), /tests/, *preview*, *screenshot*
#   artwork    GCompris puzzle pictures: painting reproductions (paintings/, babyshapes/, Van Gogh in
#              details/) and babyshapes' photo with drawn shapes pasted on
#   alpha      more than 0.1 % of the pixels have alpha < 250              (cut-outs, icons, logos)
#   flat       more than 80 % of the pixels have no grey step > 1 to the right/lower neighbour
#   texture    fewer than 4 % of the pixels have a grey step > 8           (smooth renders, gradients)
#   colours    fewer than 0.03 distinct RGB colours per pixel (= 30 000 per megapixel), or for grey
#              pictures (mean HSV saturation < 0.03) fewer than 96 grey levels
#   synthetic  at native resolution (central 1024x1024) >= 88 % of the pixels are smooth (central grey
#              difference <= 6) with noise < 0.6 grey levels there (Immerkaer), AND the strongest 10 %
#              of edges are chromatic (chroma/luma gradient ratio > 0.76): noise-free colour renders
#   review     27 named files (renders, digital art, rendered text) that pass every statistic above,
#              found by looking at contact sheets (scripts/corpus_filter.py: REVIEW; CORPUS.md)
# Measured on 526 hand-labelled candidates (342 photos, 184 non-photos); docs/CORPUS.md has the
# numbers and how many files each rule removed.
#
# Usage: scripts/fetch_corpus.sh [--force] [dest]   (default data/corpus)
#   Exits at once if dest/MANIFEST.tsv exists, unless --force (which rebuilds dest from the cache).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[corpus] %s\n' "$*"; }

FORCE=0
DEST=data/corpus
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *) DEST="$a" ;;
  esac
done

if [ -f "$DEST/MANIFEST.tsv" ] && [ "$FORCE" -eq 0 ]; then
  log "$DEST already built ($(($(wc -l < "$DEST/MANIFEST.tsv") - 1)) photos; --force rebuilds it)"
  if [ -f "$DEST/SUMMARY.tsv" ]; then column -t -s $'\t' "$DEST/SUMMARY.tsv" 2>/dev/null || cat "$DEST/SUMMARY.tsv"; fi
  exit 0
fi

# Wallpaper/background packages of Debian 12 (all checked: contents and debian/copyright), plus the
# packages with real photographs found among its data packages. Checked and left out because they
# hold no raster pictures: budgie-desktop-view, cinnamon-desktop-data; python3-matplotlib (plots
# only); debian-edu-artwork (two small logos). desktop-base and debian-edu-artwork-* hold only
# renders; they stay in to show the rule at work.
PKGS=(gnome-backgrounds mate-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers
      lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 desktop-base xfdesktop4-data lxqt-themes lxde-common
      sway-backgrounds debian-edu-artwork-buster debian-edu-artwork-emerald debian-edu-artwork-homeworld
      debian-edu-artwork-softwaves debian-edu-artwork-spacefun
      gcompris-qt-data palapeli-data python3-skimage python3-sklearn)

for tool in /usr/bin/python3 /usr/bin/convert /usr/bin/identify /usr/bin/montage dpkg-deb apt-get tar; do
  command -v "$tool" >/dev/null || { log "missing $tool (ImageMagick: apt-get install imagemagick)"; exit 1; }
done
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { log "/usr/bin/python3 lacks NumPy (apt-get install python3-numpy)"; exit 1; }

if [ ! -f data/photos/MANIFEST.tsv ]; then
  log "data/photos is missing: running scripts/fetch_photos.sh first"
  scripts/fetch_photos.sh
fi

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mt-corpus"
mkdir -p "$CACHE"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
updated=0
cached_deb() { find "$CACHE" -maxdepth 1 -name "$1_*.deb" | sort -V | tail -n 1; }
missing=()
for p in "${PKGS[@]}"; do
  if [ -n "$(cached_deb "$p")" ]; then continue; fi
  log "downloading $p (apt-get download, not installed)"
  if ! ( cd "$CACHE" && apt-get download -q "$p" >/dev/null 2>&1 ); then
    if [ "$updated" -eq 0 ]; then
      log "apt-get download failed; running apt-get update once"
      $SUDO apt-get update -q >/dev/null || true
      updated=1
    fi
    ( cd "$CACHE" && apt-get download -q "$p" >/dev/null 2>&1 ) || { log "WARNING: cannot download $p; skipped"; missing+=("$p"); }
  fi
done
log "package cache: $CACHE ($(du -sh "$CACHE" | cut -f1))"

work="$(mktemp -d "${TMPDIR:-/tmp}/mt-corpus.XXXXXX")"
trap 'rm -rf "$work" "$DEST.partial"' EXIT
: > "$work/packages.tsv"
for p in "${PKGS[@]}"; do
  deb="$(cached_deb "$p")"
  [ -n "$deb" ] || continue
  version="$(dpkg-deb -f "$deb" Version)"
  mkdir -p "$work/x/$p"
  # Only the pictures, Qt resource bundles and copyright files.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x/$p" --wildcards --no-anchored \
    '*.jpg' '*.jpeg' '*.JPG' '*.png' '*.PNG' '*.webp' '*.tif' '*.tiff' '*.bmp' '*.svg' '*.svgz' '*.rcc' \
    '*/copyright' 2>/dev/null || true
  printf '%s\t%s\t%s\n' "$p" "$version" "$work/x/$p" >> "$work/packages.tsv"
  log "extracted $p $version"
done

rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
nice -n 19 /usr/bin/python3 scripts/corpus_filter.py build --work "$work" --packages "$work/packages.tsv" \
  --photos data/photos --dest "$DEST.partial" --sheets
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
[ "${#missing[@]}" -eq 0 ] || log "WARNING: not downloadable, left out: ${missing[*]}"
log "done: $DEST (MANIFEST.tsv, DROPPED.tsv, SUMMARY.tsv, COPYRIGHT/, review/*.png)"
