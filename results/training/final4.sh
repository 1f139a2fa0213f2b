#!/bin/bash
# Session 4 final phase: large-crop rate-only fine-tune of the base's entropy model, base export,
# derived models re-trained on it (rate only, 512^2 crops), export all.
set -ex
cd /work/main
R=/work/runs
CAL=../shared/data/train/mcmaster
D=../shared/data/train
BASE_STEP=$(python -c "import torch;print(torch.load('$R/mbt2018-mean/ckpt.pt',weights_only=False)['step'])")
mkdir -p $R/base_hy && cp $R/mbt2018-mean/ckpt.pt $R/base_hy/ckpt.pt
fastcodec train --arch mbt2018-mean --freeze g_a,g_s,gains --data $D --crop 512 --batch 4 --lr 1e-4 \
  --steps $((BASE_STEP + ${HY_STEPS:-800})) --out $R/base_hy --threads 2
python -m fastcodec.train.export $R/base_hy/ckpt.pt --arch mbt2018-mean --name mbt2018-mean --calibration $CAL --step-offset 9259 \
  --notes "N=128 M=192; 8,281 steps (session 1, bf16) + 978 (session 2, float32) + $BASE_STEP (sessions 3-4, bf16, 16x128^2 crops, Adam lr 2e-4, last steps 5e-5) + ${HY_STEPS:-800} rate-only steps of h_a, h_s and the z density on 4x512^2 crops (lr 1e-4; g_a, g_s frozen); one model for qualities 1-8 (gain vectors)"
python $R/merge4.py
for a in mbt2018 he2021-checkerboard; do
  fastcodec train --arch $a --init $R/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 512 --batch 4 --lr 3e-5 --steps ${CTX_STEPS:-600} --out $R/d4_$a --threads 2
  python -m fastcodec.train.export $R/d4_$a/ckpt.pt --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset 1800 \
    --notes "context prediction + entropy parameters trained (rate only, lr 3e-5) on the frozen transforms and hyperprior of mbt2018-mean: sessions 2-3 on 8x256^2 crops, session 4 on 4x512^2 crops; warm start from the previous version's context part"
done
fastcodec train --arch bmshj2018-hyperprior --init $R/init_bmshj2018-hyperprior.safetensors --freeze g_a,g_s,gains --data $D \
  --crop 512 --batch 4 --lr 1e-4 --steps ${HP_STEPS:-800} --out $R/d4_hyperprior --threads 2
python -m fastcodec.train.export $R/d4_hyperprior/ckpt.pt --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset 1800 \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of mbt2018-mean: sessions 2-3 on 16x128^2 crops, session 4 on 4x512^2 crops (lr 1e-4); warm start from the previous version"
echo FINAL-DONE
