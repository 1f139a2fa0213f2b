#!/bin/bash
# A GPU burst of the base run (docs/training.md, "A GPU burst"): the one lever of the right size for
# the resolve targets if a session is lent a device machine (15 minutes of an H200 per session, at
# most 10 minutes a command, 64 MiB of working tree a call). Run once, in session 26 (docs/training.md,
# "Session 26 record": 10,649 steps in 470 s, no gain over the CPU run). Two steps:
#
#   here:   bash results/training/gpu_burst.sh prepare
#           copies a random subset of the training photos (all of the held-out set5 and set14, then
#           whole photos of the other folders in random order) into .burst/data (ignored), as many as
#           fit in what the call's 64 MiB leave beside the working tree (the git-tracked files);
#           prints the byte count and the photo count.
#   device: run(command="bash results/training/gpu_burst.sh device", carry=[".burst"], timeout_s=600)
#           builds the package there (python 3.12, torch 2.11 in that image), trains mbt2018-mean on
#           CUDA from INIT for TRAIN_S seconds (SIGTERM: the run checkpoints and stops), exports the
#           weight average (fp16 safetensors, 14 MB) with its training record (every logged step and
#           validation) and the console log under $OUT.
#
# Then here, on the same session: resume a fresh CPU run from the returned weights,
#   fastcodec train ... --out /work/runs/<new> --init <files_at>/zoo/weights/mbt2018-mean.safetensors
# (the CPU run's Adam state starts afresh), and count the burst's steps (its log) in BASE_OFFSET.
#
# Settings (environment): INIT (default mbt2018-mean: the zoo's shipped weights; a session that
# committed a resume point passes its path), TRAIN_S (default 420), BATCH (default 32: on the GPU a
# step of 16x128^2 is launch-bound, and the CPU run is limited by the noise of its steps), CROP (128),
# LR (1e-4), BUILD (1; 0 skips the pip build, for a dry run here), DEVICE (cuda; cpu for a dry run),
# BURST_MB (prepare: 64; the budget the tree and the photos share), SEED (prepare: 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: gpu_burst.sh prepare|device}

if [ "$mode" = prepare ]; then
  python3 - "${BURST_MB:-64}" "${SEED:-0}" <<'PY'
import os, random, shutil, subprocess, sys
from pathlib import Path
budget = int(float(sys.argv[1]) * 2**20)
tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
tree = sum(os.path.getsize(p) for p in tracked if p and os.path.isfile(p))
untracked = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"], capture_output=True,
                           check=True).stdout.split(b"\0")
tree += sum(os.path.getsize(p) for p in untracked if p and os.path.isfile(p))
room = budget - tree - 2 * 2**20          # 2 MiB spare for files written before the call
if room <= 0:
    raise SystemExit(f"the working tree ({tree / 2**20:.1f} MiB) leaves no room for photos")
src = Path("../shared/data/train")
dst = Path(".burst/data")
shutil.rmtree(dst, ignore_errors=True)
photos = sorted(p for p in src.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
held = [p for p in photos if p.relative_to(src).parts[0] in ("set5", "set14")]
rest = [p for p in photos if p not in held]
random.Random(int(sys.argv[2])).shuffle(rest)
used = n = 0
for p in held + rest:
    size = p.stat().st_size
    if used + size > room:
        if p in held:
            raise SystemExit("the held-out photos do not fit")
        continue
    out = dst / p.relative_to(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(p, out)
    used += size
    n += 1
print(f"tree {tree / 2**20:.1f} MiB; .burst/data {used / 2**20:.1f} MiB, {n} of {len(photos)} photos "
      f"({len(held)} held out)")
PY
  exit 0
fi

[ "$mode" = device ] || { echo "unknown mode $mode" >&2; exit 2; }
OUT=${OUT:?OUT: the folder whose files come back}
[ -d .burst/data ] || { echo ".burst/data is missing: run prepare here and carry .burst" >&2; exit 2; }
export PYTHONUNBUFFERED=1
if [ "${BUILD:-1}" = 1 ]; then
  t0=$(date +%s)
  python3 -m pip install -q --no-build-isolation --no-deps -e . 2>&1 | tail -3
  echo "build: $(( $(date +%s) - t0 )) s"
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
RUN=${BURST_RUN:-/tmp/burst}
rm -rf "$RUN"
set +e
timeout -s TERM "${TRAIN_S:-420}" python3 -m fastcodec.train --arch mbt2018-mean --data .burst/data --out "$RUN" \
  --steps 10000000 --lr "${LR:-1e-4}" --batch "${BATCH:-32}" --crop "${CROP:-128}" --device "${DEVICE:-cuda}" \
  --ema 0.999 --init "${INIT:-mbt2018-mean}" --balance-qualities --lr-mult film=10 2>&1 | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
set -e
echo "train exit $rc (124: stopped by the time limit, as planned)"
[ "$rc" = 0 ] || [ "$rc" = 124 ] || exit "$rc"
python3 -m fastcodec.train.export "$RUN/ckpt.pt" --arch mbt2018-mean --name mbt2018-mean --ema --zoo-dir "$OUT/zoo" \
  --notes "GPU burst (results/training/gpu_burst.sh): ${BATCH:-32}x${CROP:-128}^2 crops, lr ${LR:-1e-4}, from ${INIT:-mbt2018-mean}"
ls -l "$OUT" "$OUT/zoo/weights"
