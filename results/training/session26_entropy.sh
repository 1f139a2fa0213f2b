#!/bin/bash
# Session 26: ship the balanced 600-step entropy fine-tune of mbt2018-mean (run in session 25 on the
# session-25 decay fork: /work/runs/hyexp), then re-derive the context models on its h_s and re-pin
# the hyperprior. The transforms are the session-25 ones.
set -euo pipefail
cd /work/main
R=/work/runs; CAL=../shared/data/train/mcmaster; D=../shared/data/train; SESSION=26
python results/training/derived.py save $R/s$SESSION
cp fastcodec/zoo/weights/mbt2018-mean.safetensors $R/s$SESSION/shipped25_mbt2018-mean.safetensors
OLDNOTES=$(python -c "
import json; m=json.load(open('fastcodec/zoo/manifest.json'))['models']
print([x for x in m if x['name']=='mbt2018-mean'][0]['notes'])")
NOTES=${OLDNOTES/"on 4x512^2 crops (lr 1e-4; g_a, g_s frozen)"/"on 4x512^2 crops (lr 1e-4, --balance-qualities: each quality's rate weighted by 1 / its running mean, session 26; g_a, g_s frozen)"}
[ "$NOTES" != "$OLDNOTES" ] || { echo "notes not updated" >&2; exit 1; }
python -m fastcodec.train.export $R/hyexp/ckpt.pt --ema --arch mbt2018-mean --name mbt2018-mean --calibration $CAL \
  --step-offset 130745 --notes "$NOTES"
python results/training/derived.py merge $R/s$SESSION
for a in mbt2018 he2021-checkerboard; do
  rm -rf $R/d${SESSION}_$a
  fastcodec train --arch $a --init $R/s$SESSION/init_$a.safetensors --freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains --data $D \
    --crop 512 --batch 4 --lr 3e-5 --steps 400 --out $R/d${SESSION}_$a --threads 2 --ema 0.99
  python -m fastcodec.train.export $R/d${SESSION}_$a/ckpt.pt --ema --arch $a --name $a --calibration $CAL --base mbt2018-mean --step-offset 10400 \
    --notes "context prediction + entropy parameters trained (rate only, lr 3e-5) on the frozen transforms and hyperprior of mbt2018-mean: sessions 2-3 on 8x256^2 crops, sessions 4-$SESSION on 4x512^2 crops; warm start from the previous version's context part"
done
# the hyperprior: its own h_a, h_s and z density as shipped in session 25, re-pinned to the new base file
python -m fastcodec.train.export $R/d25_hyperprior/ckpt.pt --ema --arch bmshj2018-hyperprior --name bmshj2018-hyperprior --calibration $CAL --base mbt2018-mean --step-offset 28604 \
  --notes "scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of mbt2018-mean: sessions 2-3 on 16x128^2 crops, sessions 4-25 on 4x512^2 crops (lr 1e-4); warm start from the previous version"
echo BASE26-DONE
