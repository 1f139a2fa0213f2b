#!/bin/bash
# Session 5 final phase: the base's entropy model fine-tuned on 4x512^2 crops (rate only), base
# export, the derived models re-trained on it from their previous versions (rate only, 512^2
# crops), all exported. Before it: `python results/training/derived.py save $R/s5` (done while the
# previous derived files were still loadable).
set -ex
cd /work/main
R=/work/runs
CAL=../shared/data/train/mcmaster
D=../shared/data/train
BASE_STEP=$(python -c "import torch;print(torch.load('$R/mbt2018-mean/ckpt.pt',weights_only=False)['step'])")
rm -rf $R/base_hy5 && mkdir -p $R/base_hy5 && cp $R/mbt2018-mean/ckpt.pt $R/base_hy5/ckpt.pt
fastcodec train --arch mbt2018-mean --freeze g_a,g_s,gains --data $D --crop 512 --batch 4 --lr 1e-4 \
  --steps $((BASE_STEP + ${HY_STEPS:-600})) --out $R/base_hy5 --threads 2
python -m fastcodec.train.export $R/base_hy5/ckpt.pt --arch mbt2018-mean --name mbt2018-mean --calibration $CAL --step-offset 9259 \
  --notes "N=128 M=192; 8,281 steps (session 1, bf16) + 978 (session 2, float32) + $BASE_STEP (sessions 3-5, bf16, 16x128^2 crops, Adam lr 2e-4, each session's last steps 5e-5) + ${HY_STEPS:-600} rate-only steps of h_a, h_s and the z density on 4x512^2 crops (lr 1e-4; g_a, g_s frozen); one model for qualities 1-8 (gain vectors)"
python results/training/derived.py merge $R/s5
for a in mbt2018 he2021-checkerboard; do
  rm -rf $R/d5_$a
  fastcodec train --arch $a --init $R/s5/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 512 --batch 4 --lr 3e-5 ${CTX_LR_MULT:+--lr-mult context_prediction=$CTX_LR_MULT} --steps ${CTX_STEPS:-600} --out $R/d5_$a --threads 2
  python -m fastcodec.train.export $R/d5_$a/ckpt.pt --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset 2400 \
    --notes "context prediction + entropy parameters trained (rate only, lr 3e-5${CTX_LR_MULT:+, context convolution x$CTX_LR_MULT}) on the frozen transforms and hyperprior of mbt2018-mean: sessions 2-3 on 8x256^2 crops, sessions 4-5 on 4x512^2 crops; warm start from the previous version's context part"
done
rm -rf $R/d5_hyperprior
fastcodec train --arch bmshj2018-hyperprior --init $R/s5/init_bmshj2018-hyperprior.safetensors --freeze g_a,g_s,gains --data $D \
  --crop 512 --batch 4 --lr 1e-4 --steps ${HP_STEPS:-600} --out $R/d5_hyperprior --threads 2
python -m fastcodec.train.export $R/d5_hyperprior/ckpt.pt --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset 2400 \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of mbt2018-mean: sessions 2-3 on 16x128^2 crops, sessions 4-5 on 4x512^2 crops (lr 1e-4); warm start from the previous version"
echo FINAL-DONE
