#!/bin/bash
# session 11 final (a new machine: the run started from the shipped session-10 weights, --init, run
# steps from 0): stop the base run, a 1,000-step lr 5e-5 decay fork of it (the run's own checkpoint
# stays undecayed for the next session), the final phase from the fork's weight average
set -ex
cd /work/main
export GOMP_SPINCOUNT=10000
pkill -TERM -f "out /work/runs/mbt2018-mean " || true
while pgrep -f "out /work/runs/mbt2018-mean " >/dev/null; do sleep 2; done
cp /work/runs/mbt2018-mean/ckpt.pt /work/runs/mbt2018-mean_ckpt_s11_final.pt
S=$(python -c "import torch;print(torch.load('/work/runs/mbt2018-mean/ckpt.pt',weights_only=True)['step'])")
echo "base run step $S"
rm -rf /work/runs/decayfinal11 && mkdir -p /work/runs/decayfinal11
cp /work/runs/mbt2018-mean/ckpt.pt /work/runs/decayfinal11/ckpt.pt
nice -n 10 fastcodec train --arch mbt2018-mean --data ../shared/data/train --out /work/runs/decayfinal11 --steps $((S + 1000)) --lr 5e-5 \
  --threads 2 --ema 0.999 --init mbt2018-mean --balance-qualities --compile-gdn
mkdir -p /work/runs/s11
python results/training/derived.py save /work/runs/s11
cp fastcodec/zoo/weights/mbt2018-mean.safetensors /work/runs/s11/shipped10_mbt2018-mean.safetensors
SESSION=11 BASE_OFFSET=80092 CTX_OFFSET=4800 HP_OFFSET=6400 HP_STEPS=1000 BASE_CKPT=/work/runs/decayfinal11/ckpt.pt \
 BASE_RECIPE="a run started in session 11 from the shipped session-10 weights ($S steps), 16x128^2 crops, per-quality loss weights --balance-qualities, lr 2e-4, then 1,000 steps at lr 5e-5 (a fork; the run itself continues undecayed)" \
 BASE_HISTORY="80,092 steps of the transforms up to session 10 (8,281 session 1 bf16, 978 session 2 float32, 70,833 sessions 3-10 bf16 16x128^2 crops, Adam lr 2e-4, exported after short decays to 5e-5 in sessions 3-5 and 10, from the weight average since session 6) + " \
 bash results/training/final_phase.sh
python -m fastcodec.train.valcurve /work/runs/s11/shipped10_mbt2018-mean.safetensors mbt2018-mean 2>&1 | tail -4 || true
fastcodec eval --data ../shared/data/kodak --anchors ../shared/anchors --out results --merge --models mbt2018-mean,mbt2018,he2021-checkerboard,bmshj2018-hyperprior,bmshj2018-factorized --threads 2
echo END11-DONE
