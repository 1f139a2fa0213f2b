#!/bin/bash
# The final phase of a session, from session 7 on (final.sh and final4-6.sh are the earlier
# sessions' copies, kept as records). Before it, while the previous derived files still load:
#   python results/training/derived.py save /work/runs/s$SESSION
# Then: the base run's moving average (USE_EMA=1) or last weights; the base's entropy model
# fine-tuned on 4x512^2 crops (rate only); base export; the derived models re-trained on it from
# their previous versions (rate only, each with --ema 0.99, exported from the average); the
# factorized model's per-quality densities re-fitted. Session 7 ran these steps (as final7.sh, which
# this file replaces; only the wording of the base's notes differed) with
#   SESSION=7 BASE_OFFSET=41830 CTX_OFFSET=3200 HP_OFFSET=3600 BASE_HISTORY="41,830 steps of the
#   transforms up to session 6 (...) + " bash results/training/final_phase.sh
# BASE_OFFSET: transform steps before this session's base run (whose steps count from 0 after an
# --init warm start); CTX_OFFSET / HP_OFFSET: the shipped step counts of the derived models.
# BASE_RECIPE: how the base run trained, for its notes (default "16x128^2 crops").
# BASE_CKPT: the base run's checkpoint (default /work/runs/mbt2018-mean/ckpt.pt; session 10 could
# take a fork of the run instead).
# F_OFFSET (from session 27): the factorized model's shipped step count (its own encoder's steps counted
# on the base's before session 26); FENC_STEPS: its steps this session (default 4000); FENC_FILM: the
# FiLM values' learning-rate multiplier in them (default 10); F_HISTORY (from session 28): its manifest
# notes' account of the steps before this session (the shipped notes, up to the fits).
: "${SESSION:?}" "${BASE_OFFSET:?}" "${CTX_OFFSET:?}" "${HP_OFFSET:?}" "${F_OFFSET:?}" "${F_HISTORY:?}"
set -ex
cd /work/main
R=/work/runs
CAL=../shared/data/train/mcmaster
D=../shared/data/train
USE_EMA=${USE_EMA:-1}
[ "$USE_EMA" = 1 ] && FROM="exported: the moving average (decay 0.999) of the weights" || FROM="exported: the last weights"
rm -rf $R/base_hy$SESSION && mkdir -p $R/base_hy$SESSION
python - "${BASE_CKPT:-$R/mbt2018-mean/ckpt.pt}" "$R/base_hy$SESSION/ckpt.pt" "$USE_EMA" <<'PY'
import sys, torch
src, dst, use_ema = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ck = torch.load(src, weights_only=True)
if use_ema:
    ck["model"] = ck["ema"]
ck.pop("ema", None); ck.pop("ema_decay", None)
torch.save(ck, dst)
print("base from", "the weight average" if use_ema else "the last weights", "at run step", ck["step"])
PY
BASE_STEP=$(python -c "import torch;print(torch.load('$R/base_hy$SESSION/ckpt.pt',weights_only=True)['step'])")
# from session 26: --balance-qualities (each quality's loss weighted by 1 / its running mean). Without it the
# summed rate is dominated by the top qualities' bits and the fine-tune gave q1 back (session 25: held-out q1
# +2.3 % rate while q8 −3.1 %); with it, on the session-25 fork, valcurve −0.55 % (q1 −1.0 %, q8 −0.1 %).
fastcodec train --arch mbt2018-mean --freeze g_a,g_s,gains --data $D --crop 512 --batch 4 --lr 1e-4 \
  --steps $((BASE_STEP + ${HY_STEPS:-600})) --out $R/base_hy$SESSION --threads 2 --ema 0.99 --balance-qualities
python -m fastcodec.train.export $R/base_hy$SESSION/ckpt.pt --ema --arch mbt2018-mean --name mbt2018-mean --calibration $CAL --step-offset $BASE_OFFSET \
  --notes "N=128 M=192; ${BASE_HISTORY:-$BASE_OFFSET steps of the transforms before session $SESSION + }$BASE_STEP (session $SESSION, ${BASE_RECIPE:-16x128^2 crops}; $FROM) + ${HY_STEPS:-600} rate-only steps of h_a, h_s and the z density on 4x512^2 crops (lr 1e-4, --balance-qualities; g_a, g_s frozen); one model for qualities 1-8 (gain vectors)"
python results/training/derived.py merge $R/s$SESSION
for a in mbt2018 he2021-checkerboard; do
  rm -rf $R/d${SESSION}_$a
  fastcodec train --arch $a --init $R/s$SESSION/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 512 --batch 4 --lr 3e-5 --steps ${CTX_STEPS:-400} --out $R/d${SESSION}_$a --threads 2 --ema 0.99
  python -m fastcodec.train.export $R/d${SESSION}_$a/ckpt.pt --ema --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset $CTX_OFFSET \
    --notes "context prediction + entropy parameters trained (rate only, lr 3e-5) on the frozen transforms and hyperprior of mbt2018-mean: sessions 2-3 on 8x256^2 crops, sessions 4-$SESSION on 4x512^2 crops; warm start from the previous version's context part"
done
rm -rf $R/d${SESSION}_hyperprior
fastcodec train --arch bmshj2018-hyperprior --init $R/s$SESSION/init_bmshj2018-hyperprior.safetensors --freeze g_a,g_s,gains --data $D \
  --crop 512 --batch 4 --lr 1e-4 --steps ${HP_STEPS:-600} --out $R/d${SESSION}_hyperprior --threads 2 --ema 0.99
python -m fastcodec.train.export $R/d${SESSION}_hyperprior/ckpt.pt --ema --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset $HP_OFFSET \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of mbt2018-mean: sessions 2-3 on 16x128^2 crops, sessions 4-$SESSION on 4x512^2 crops (lr 1e-4); warm start from the previous version"
# from session 26: its own encoder — g_a, the FiLM values, gains and densities trained on the base's
# frozen g_s (--trainable film.: the model stores its own modulation), warm-started from the previous
# version (derived.py merge takes only g_s from the base); then densities and gains re-fitted as before.
# From session 28: its own decoder too (g_s trained jointly with the rest; derived.py merge keeps a part
# the shipped version stores as its own), and the shipping steps in factorized_phase.sh
rm -rf $R/d${SESSION}_factorized
fastcodec train --arch bmshj2018-factorized --init $R/s$SESSION/init_bmshj2018-factorized.safetensors \
  --lr-mult film=${FENC_FILM:-10} --data $D --lr 1e-4 --steps ${FENC_STEPS:-4000} --out $R/d${SESSION}_factorized --threads 2 --ema 0.999 \
  --balance-qualities --compile-gdn
CKPT=$R/d${SESSION}_factorized/ckpt.pt WORK=$R/s$SESSION/factorized STEPS=$((F_OFFSET + ${FENC_STEPS:-4000})) \
 NOTES="${F_HISTORY:?}; $(python -c "print(f'{${FENC_STEPS:-4000}:,}')") steps in session $SESSION from the previous version (all of it trained: 16x128^2 crops, lr 1e-4, FiLM at ${FENC_FILM:-10}x, --balance-qualities, exported from the weight average)" \
 bash results/training/factorized_phase.sh
echo FINAL-DONE
