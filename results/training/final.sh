#!/bin/bash
# Session 3 final phase: export the base, re-train the derived entropy models on it, export all.
set -ex
cd /work/main
R=/work/runs
CAL=../shared/data/train/mcmaster
D=../shared/data/train
python -m fastcodec.train.export $R/mbt2018-mean/ckpt.pt --arch mbt2018-mean --name mbt2018-mean --calibration $CAL --step-offset 9259 \
  --notes "N=128 M=192; 8,281 steps (session 1, bf16) + 978 (session 2, float32) + $(python -c "import torch;print(torch.load('$R/mbt2018-mean/ckpt.pt',weights_only=False)['step'])") (session 3, bf16, resumed from the shipped weights); 16x128^2 crops, Adam lr 2e-4 (last steps of session 3: 5e-5), one model for qualities 1-8 (gain vectors)"
python $R/merge.py
for a in mbt2018 he2021-checkerboard; do
  fastcodec train --arch $a --init $R/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 256 --batch 8 --lr 3e-5 --steps ${CTX_STEPS:-800} --out $R/d_$a --threads 2
  python -m fastcodec.train.export $R/d_$a/ckpt.pt --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset 1000 \
    --notes "context prediction + entropy parameters trained (rate only, 8x256^2 crops, lr 3e-5) on the frozen transforms and hyperprior of mbt2018-mean; warm start from the previous version's context part"
done
fastcodec train --arch bmshj2018-hyperprior --init $R/init_bmshj2018-hyperprior.safetensors --freeze g_a,g_s,gains --data $D \
  --crop 128 --batch 16 --lr 1e-4 --steps ${HP_STEPS:-800} --out $R/d_hyperprior --threads 2
python -m fastcodec.train.export $R/d_hyperprior/ckpt.pt --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset 1000 \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only, 16x128^2 crops, lr 2e-4 then 1e-4) on the frozen g_a/g_s of mbt2018-mean; warm start from the previous version"
python -m fastcodec.train.export $R/factorized/ckpt.pt --arch bmshj2018-factorized --name bmshj2018-factorized --step-offset 1224 \
  --notes "g_a, g_s, gains and the factorized density of y trained end to end (16x128^2 crops, lr 1e-4, last steps 3e-5), one density of y per quality; 600 rate-only steps on mbt2018-mean transforms (session 2), then fit_density, 624 joint steps with a shared density, fit_density --per-quality, then joint (session 3)"
echo FINAL-DONE
