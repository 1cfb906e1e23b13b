#!/usr/bin/env bash
# Builds the thumbnail benchmark's corpus of real photographs (issue 4) from
# Debian wallpaper packages, plus EXIF-rotated copies made with exiftool.
#
#   bench/thumbnails/make_corpus.sh [OUTDIR]     Default OUTDIR: ./build/thumb-corpus
#
# Installs the packages with apt-get when missing (needs root then; idempotent).
# Every distinct JPEG (by content: plasma ships one picture under many names)
# is linked into OUTDIR; OUTDIR/manifest.tsv lists, one photo a line:
#   file  class  mp  width  height  orientation  source
# class: baseline-small (baseline, <= 5 MP), baseline-large (baseline, > 5 MP),
# progressive. Rotated copies (EXIF Orientation 6, 3, 8 written by exiftool
# into copies of three baseline photos) carry "rot<N>-" in their file name.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/thumb-corpus}
pkgs=(mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
  libimage-exiftool-perl python3-pil)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "make_corpus: missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "make_corpus: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$out"
rm -f "$out"/*.jpg "$out/manifest.tsv"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for p in mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04; do
  dpkg -L "$p" | grep -iE '\.jpe?g$' | grep -v /screenshot | sed "s|^|$p\t|" >>"$list"
done

# Deduplicate by content, classify, link.
/usr/bin/python3 - "$list" "$out" <<'PY'
import hashlib, os, re, sys
from PIL import Image
lst, out = sys.argv[1], sys.argv[2]
seen = {}
rows = []
for line in open(lst):
    pkg, path = line.rstrip("\n").split("\t")
    if not os.path.isfile(path):
        continue
    real = os.path.realpath(path)
    digest = hashlib.sha256(open(real, "rb").read()).hexdigest()
    if digest in seen:
        continue
    with Image.open(real) as im:
        if im.format != "JPEG":
            continue
        w, h = im.size
        prog = bool(im.info.get("progressive") or im.info.get("progression"))
    mp = w * h / 1e6
    cls = "progressive" if prog else ("baseline-small" if mp <= 5.0 else "baseline-large")
    short = {"mate-backgrounds": "mate", "plasma-workspace-wallpapers": "plasma"}.get(pkg, "lomiri")
    rel = path.split("/usr/share/")[-1]
    rel = re.sub(r"^(backgrounds/(mate/)?|wallpapers/)", "", rel).replace("/contents/images", "")
    name = short + "-" + re.sub(r"[^A-Za-z0-9._-]+", "-", rel.replace("/", "-"))
    seen[digest] = name
    os.symlink(real, os.path.join(out, name))
    rows.append((name, cls, "%.1f" % mp, w, h, 1, real))
rows.sort(key=lambda r: (r[1], float(r[2]), r[0]))
with open(os.path.join(out, "manifest.tsv"), "w") as f:
    for r in rows:
        f.write("\t".join(map(str, r)) + "\n")
PY

# EXIF-rotated copies of three baseline photos (the first, middle and last
# baseline lines of the manifest): Orientation 6 (90 CW), 3 (180), 8 (90 CCW).
mapfile -t base < <(awk -F'\t' '$2 ~ /^baseline/ {print $1}' "$out/manifest.tsv")
n=${#base[@]}
picks=("${base[0]}" "${base[$((n / 2))]}" "${base[$((n - 1))]}")
orients=(6 3 8)
for i in 0 1 2; do
  src=${picks[$i]}
  o=${orients[$i]}
  dst=rot$o-$src
  exiftool -q -q -n -Orientation="$o" -o "$out/$dst" "$(readlink -f "$out/$src")"
  awk -F'\t' -v s="$src" -v d="$dst" -v o="$o" 'BEGIN{OFS="\t"} $1 == s {$1 = d; $6 = o; print}' \
    "$out/manifest.tsv" >>"$out/manifest.tsv.rot"
done
cat "$out/manifest.tsv.rot" >>"$out/manifest.tsv"
rm -f "$out/manifest.tsv.rot"

awk -F'\t' '{c[$2]++; n++} END {printf "make_corpus: %d photos in %s (", n, dir; for (k in c) printf " %s %d", k, c[k]; print " )"}' \
  dir="$out" "$out/manifest.tsv" >&2
