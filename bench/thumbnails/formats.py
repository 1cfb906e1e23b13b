"""WebP and AVIF thumbnail sets against the JPEG set (issue 17), run by
bench/thumbnails/run.sh after driver.py, in the same run, one core.

Per photo of the corpus (every BENCH_FORMATS_LIMIT-th, default 1) and per
format (jpeg Q85, webp Q88, avif Q78: the defaults; the three default sizes):
  mediastore  make_thumbnails_file with the spec's formats = {format}
              (bin/bench_thumbs serve FORMAT): one decode, one resize per size,
              one encode per size
  vips-one    libvips: one shrink-on-load decode, vips_thumbnail_image per size,
              jpegsave / webpsave / heifsave (AV1) with the same qualities and
              encoder effort (bin/vips_one serve FORMAT)
CPU time medians over BENCH_REPS after a warm-up; bytes of the three files;
SSIM and PSNR of the 800x600 output (decoded by libmediastore's decoders,
bin/bench_thumbs to-ppm) against the full-decode reference (Pillow, no draft,
exif_transpose, LANCZOS straight to the output size); the encode time alone
per format (bin/bench_thumbs encode-split). Prints a markdown section.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver as d  # noqa: E402  (needs BENCH_BIN and BENCH_CORPUS, as driver.py)

FORMATS = ["jpeg", "webp", "avif"]
EXT = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}
LIMIT = int(os.environ.get("BENCH_FORMATS_LIMIT", "1"))
BENCH = os.path.join(d.BIN, "bench_thumbs")
VIPS = os.path.join(d.BIN, "vips_one")


def decoded(path, tmp):
    ppm = os.path.join(tmp, "out.ppm")
    subprocess.run([BENCH, "to-ppm", path, ppm], check=True)
    with Image.open(ppm) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def outputs(argv, outdir, fmt, env=None):
    subprocess.run(argv + [outdir, fmt], check=True, stdout=subprocess.DEVNULL, env=env)
    files = [os.path.join(outdir, f"{n}.{EXT[fmt]}") for n in ("large", "medium", "small")]
    return sum(os.path.getsize(f) for f in files), files[0]


def main():
    photos = []
    for line in open(os.path.join(d.CORPUS, "manifest.tsv")):
        photos.append(os.path.join(d.CORPUS, line.split("\t")[0]))
    photos = photos[::LIMIT]
    d.log(f"formats: {len(photos)} photos, reps {d.REPS}")
    ours = {f: d.Server([BENCH, "serve", f]) for f in FORMATS}
    vips = {f: d.Server([VIPS, "serve", f], env=d.VIPS_ENV) for f in FORMATS}
    tmp = tempfile.mkdtemp(prefix="ms-formats.")
    rows = []  # per photo: {(tool, fmt): (cpu_ms, bytes, ssim, psnr)}, encode split
    load_before = os.getloadavg()
    for i, path in enumerate(photos):
        with Image.open(path) as im:
            im.load()
            full = ImageOps.exif_transpose(im).convert("RGB")
        row = {}
        for f in FORMATS:
            for tool, srv, argv, env in (
                ("mediastore", ours[f], [BENCH, "write", path], None),
                ("vips-one", vips[f], [VIPS, "write", path], d.VIPS_ENV),
            ):
                cpu, _ = srv.run(path, d.REPS)
                size, large = outputs(argv, tmp, f, env)
                got = decoded(large, tmp)
                h, w = got.shape[:2]
                ref = np.asarray(full.resize((w, h), d.LANCZOS), dtype=np.float64)
                row[(tool, f)] = (d.med(cpu), size, d.ssim(got, ref), d.psnr(got, ref))
        out = subprocess.run([BENCH, "encode-split", str(d.REPS), path], check=True, capture_output=True, text=True)
        row["encode"] = {k: float(v) for k, v in (ln.split() for ln in out.stdout.splitlines())}
        rows.append(row)
        d.log(
            f"formats {i + 1}/{len(photos)} {os.path.basename(path)}: "
            + " ".join(f"{t}/{f} {row[(t, f)][0]:.1f}ms {row[(t, f)][1]}B" for t in ("mediastore", "vips-one") for f in FORMATS)
        )
    for s in list(ours.values()) + list(vips.values()):
        s.close()
    load_after = os.getloadavg()
    print(report(rows, len(photos), load_before, load_after))


def report(rows, n, load_before, load_after):
    med = d.med
    fmt = d.fmt

    def col(tool, f, k):
        return [r[(tool, f)][k] for r in rows]

    def ratio(a, b):
        return med([x / y for x, y in zip(a, b)])

    out = [
        "## Thumbnail formats: WebP and AVIF against JPEG (one core)",
        "",
        f"{n} photos; the three default sizes per photo; medians over photos of per-photo medians "
        f"(CPU ms, {d.REPS} repetitions after a warm-up). Load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after: the machine was shared, so CPU times carry noise.",
        "",
        "| tool | format | CPU ms / photo | × its JPEG | bytes (3 sizes) | × its JPEG | SSIM large | PSNR large |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tool in ("mediastore", "vips-one"):
        for f in FORMATS:
            out.append(
                f"| {tool} | {f} | {fmt(med(col(tool, f, 0)))} | {fmt(ratio(col(tool, f, 0), col(tool, 'jpeg', 0)), 2)} "
                f"| {med(col(tool, f, 1)):.0f} | {fmt(ratio(col(tool, f, 1), col(tool, 'jpeg', 1)), 2)} "
                f"| {fmt(med(col(tool, f, 2)), 4)} | {fmt(med(col(tool, f, 3)), 2)} |"
            )
    enc = {f: [r["encode"][f] for r in rows] for f in FORMATS}
    out += [
        "",
        "| format | encode ms (3 sizes, libmediastore) | × JPEG encode | libvips CPU ÷ libmediastore CPU |",
        "|---|---|---|---|",
    ]
    for f in FORMATS:
        out.append(
            f"| {f} | {fmt(med(enc[f]), 2)} | {fmt(ratio(enc[f], enc['jpeg']), 2)} "
            f"| {fmt(ratio(col('vips-one', f, 0), col('mediastore', f, 0)), 2)} |"
        )
    webp_bytes = ratio(col("mediastore", "webp", 1), col("mediastore", "jpeg", 1))
    webp_ssim = med([a - b for a, b in zip(col("mediastore", "webp", 2), col("mediastore", "jpeg", 2))])
    added = med([(w - j) / e for w, j, e in zip(col("mediastore", "webp", 0), col("mediastore", "jpeg", 0), enc["jpeg"])])
    out += [
        "",
        "Goals (issue 17): WebP at ≥ 25 % fewer bytes than JPEG: "
        f"{(1 - webp_bytes) * 100:.0f} % fewer; at equal or better SSIM: {webp_ssim:+.4f}; "
        f"adding ≤ 1.5 × the JPEG encode time: WebP set − JPEG set = {added:.2f} × the JPEG encode; "
        f"faster than libvips for the same output: libvips ÷ libmediastore "
        + ", ".join(f"{f} {fmt(ratio(col('vips-one', f, 0), col('mediastore', f, 0)), 2)}" for f in FORMATS)
        + ".",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
