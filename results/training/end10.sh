#!/bin/bash
# session 10 final: stop the base run, a 1,000-step lr 5e-5 decay fork of it (the run's own
# checkpoint stays undecayed for the next session), the final phase from the fork's weight average
set -ex
cd /work/main
export GOMP_SPINCOUNT=10000
pkill -TERM -f "out /work/runs/mbt2018-mean " || true
while pgrep -f "out /work/runs/mbt2018-mean " >/dev/null; do sleep 2; done
cp /work/runs/mbt2018-mean/ckpt.pt /work/runs/mbt2018-mean_ckpt_s10_final.pt
S=$(python -c "import torch;print(torch.load('/work/runs/mbt2018-mean/ckpt.pt',weights_only=True)['step'])")
echo "base run step $S"
rm -rf /work/runs/decayfinal10 && mkdir -p /work/runs/decayfinal10
cp /work/runs/mbt2018-mean/ckpt.pt /work/runs/decayfinal10/ckpt.pt
nice -n 10 fastcodec train --arch mbt2018-mean --data ../shared/data/train --out /work/runs/decayfinal10 --steps $((S + 1000)) --lr 5e-5 \
  --threads 2 --ema 0.999 --init mbt2018-mean --balance-qualities --compile-gdn
mkdir -p /work/runs/s10
python results/training/derived.py save /work/runs/s10
cp fastcodec/zoo/weights/mbt2018-mean.safetensors /work/runs/s10/shipped9_mbt2018-mean.safetensors
SESSION=10 BASE_OFFSET=53877 CTX_OFFSET=4400 HP_OFFSET=5400 HP_STEPS=1000 BASE_CKPT=/work/runs/decayfinal10/ckpt.pt \
 BASE_RECIPE="one run over sessions 8-10 (12,009 steps in session 8, 6,649 in session 9, $((S - 18658)) in session 10), 16x128^2 crops, per-quality loss weights --balance-qualities, lr 2e-4, then 1,000 steps at lr 5e-5 (a fork; the run itself continues undecayed)" \
 BASE_HISTORY="53,877 steps of the transforms up to session 7 (8,281 session 1 bf16, 978 session 2 float32, 44,618 sessions 3-7 bf16 16x128^2 crops, Adam lr 2e-4; sessions 3-5 exported after a decay to 5e-5, sessions 6-7 from the weight average) + " \
 bash results/training/final_phase.sh
python -m fastcodec.train.valcurve /work/runs/s10/shipped9_mbt2018-mean.safetensors mbt2018-mean 2>&1 | tail -4 || true
fastcodec eval --data ../shared/data/kodak --anchors ../shared/anchors --out results --merge --models mbt2018-mean,mbt2018,he2021-checkerboard,bmshj2018-hyperprior,bmshj2018-factorized --threads 2
echo END10-DONE
