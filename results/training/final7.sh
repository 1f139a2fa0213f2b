#!/bin/bash
# Session 7 final phase (a new machine: the base run started from the shipped session-6 weights with
# --init, its run steps counted from 0, so the offsets below are the shipped counts). Before it: `python results/training/derived.py save $R/s7` (done while the
# previous derived files were still loadable). The base run kept a moving average of its weights
# (--ema 0.999); USE_EMA=1 starts the export from the average instead of the last weights.
# Then as in session 5: the base's entropy model fine-tuned on 4x512^2 crops (rate only), base
# export, the derived models re-trained on it from their previous versions, all exported; new:
# bmshj2018-factorized is derived too (its per-quality densities re-fitted on the new transforms),
# and every rate-only run keeps a moving average of its weights (--ema 0.99), which is exported.
set -ex
cd /work/main
R=/work/runs
CAL=../shared/data/train/mcmaster
D=../shared/data/train
USE_EMA=${USE_EMA:-1}
[ "$USE_EMA" = 1 ] && FROM="exported: the moving average (decay 0.999) of the weights" || FROM="exported: the last weights"
rm -rf $R/base_hy7 && mkdir -p $R/base_hy7
python - "$R/mbt2018-mean/ckpt.pt" "$R/base_hy7/ckpt.pt" "$USE_EMA" <<'PY'
import sys, torch
src, dst, use_ema = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ck = torch.load(src, weights_only=True)
if use_ema:
    ck["model"] = ck["ema"]
ck.pop("ema", None); ck.pop("ema_decay", None)
torch.save(ck, dst)
print("base from", "the weight average" if use_ema else "the last weights", "at run step", ck["step"])
PY
BASE_STEP=$(python -c "import torch;print(torch.load('$R/base_hy7/ckpt.pt',weights_only=True)['step'])")
fastcodec train --arch mbt2018-mean --freeze g_a,g_s,gains --data $D --crop 512 --batch 4 --lr 1e-4 \
  --steps $((BASE_STEP + ${HY_STEPS:-600})) --out $R/base_hy7 --threads 2 --ema 0.99
python -m fastcodec.train.export $R/base_hy7/ckpt.pt --ema --arch mbt2018-mean --name mbt2018-mean --calibration $CAL --step-offset 41830 \
  --notes "N=128 M=192; 41,830 steps of the transforms up to session 6 (8,281 session 1 bf16, 978 session 2 float32, 32,571 sessions 3-6 bf16 16x128^2 crops, Adam lr 2e-4, sessions 3-6 ending at 5e-5, session 6 exported from the weight average) + $BASE_STEP (session 7: warm start from the shipped weights, fresh Adam, lr 2e-4, 16x128^2 crops; $FROM) + ${HY_STEPS:-600} rate-only steps of h_a, h_s and the z density on 4x512^2 crops (lr 1e-4; g_a, g_s frozen); one model for qualities 1-8 (gain vectors)"
python results/training/derived.py merge $R/s7
for a in mbt2018 he2021-checkerboard; do
  rm -rf $R/d7_$a
  fastcodec train --arch $a --init $R/s7/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 512 --batch 4 --lr 3e-5 --steps ${CTX_STEPS:-400} --out $R/d7_$a --threads 2 --ema 0.99
  python -m fastcodec.train.export $R/d7_$a/ckpt.pt --ema --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset 3200 \
    --notes "context prediction + entropy parameters trained (rate only, lr 3e-5) on the frozen transforms and hyperprior of mbt2018-mean: sessions 2-3 on 8x256^2 crops, sessions 4-7 on 4x512^2 crops; warm start from the previous version's context part"
done
rm -rf $R/d7_hyperprior
fastcodec train --arch bmshj2018-hyperprior --init $R/s7/init_bmshj2018-hyperprior.safetensors --freeze g_a,g_s,gains --data $D \
  --crop 512 --batch 4 --lr 1e-4 --steps ${HP_STEPS:-600} --out $R/d7_hyperprior --threads 2 --ema 0.99
python -m fastcodec.train.export $R/d7_hyperprior/ckpt.pt --ema --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset 3600 \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of mbt2018-mean: sessions 2-3 on 16x128^2 crops, sessions 4-7 on 4x512^2 crops (lr 1e-4); warm start from the previous version"
python -m fastcodec.train.fit_density --arch bmshj2018-factorized --init $R/s7/init_bmshj2018-factorized.safetensors --data $D \
  --out $R/s7/factorized_fit7.safetensors --steps 1500
python -m fastcodec.train.export $R/s7/factorized_fit7.safetensors --arch bmshj2018-factorized --name bmshj2018-factorized --base mbt2018-mean \
  --step-offset $((BASE_STEP + 41830)) \
  --notes "g_a, g_s and gains of mbt2018-mean (shared, not stored again); one factorized density of y per quality fitted on them (python -m fastcodec.train.fit_density, 1,500 steps at lr 1e-2 on cached latents of 768 random 128^2 crops, rate only), warm start from the previous version's densities"
echo FINAL-DONE
