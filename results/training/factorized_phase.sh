#!/bin/bash
# The factorized model's shipping steps (from session 28; final_phase.sh ran them inline before): from a
# checkpoint of a `fastcodec train --arch bmshj2018-factorized` run, its weight average exported to a
# scratch zoo, the per-quality densities re-fitted on the coded latents (fit_density), the gains with the
# densities on its RD loss (fit_gains), and the zoo export with --base mbt2018-mean (the tensors equal to
# the base's are shared, the rest stored).
#   CKPT      the run's ckpt.pt (exported from its weight average)
#   WORK      a scratch folder for the intermediate files
#   STEPS     the model's total step count for the manifest
#   NOTES     the manifest notes, ending before the fits' description (this script appends it)
#   FD_STEPS / FG_STEPS   fit_density / fit_gains steps (default 1500 / 1000)
: "${CKPT:?}" "${WORK:?}" "${STEPS:?}" "${NOTES:?}"
set -ex
cd /work/main
D=../shared/data/train
rm -rf $WORK/fz && mkdir -p $WORK
FD=$(python -c "print(f'{${FD_STEPS:-1500}:,}')"); FG=$(python -c "print(f'{${FG_STEPS:-1000}:,}')")
# the run's log beside the fitted file: the final export's training record (<name>.train.json)
cp "$(dirname $CKPT)/log.jsonl" $WORK/log.jsonl
python -m fastcodec.train.export $CKPT --ema --arch bmshj2018-factorized --name bmshj2018-factorized --zoo-dir $WORK/fz
python -m fastcodec.train.fit_density --arch bmshj2018-factorized --init $WORK/fz/weights/bmshj2018-factorized.safetensors --data $D \
  --out $WORK/factorized_fit.safetensors --steps ${FD_STEPS:-1500}
python -m fastcodec.train.fit_gains --init $WORK/factorized_fit.safetensors --data $D \
  --out $WORK/factorized_gains.safetensors --steps ${FG_STEPS:-1000} --threads 2
python -m fastcodec.train.export $WORK/factorized_gains.safetensors --arch bmshj2018-factorized --name bmshj2018-factorized --base mbt2018-mean \
  --step-offset $STEPS \
  --notes "$NOTES; then the densities re-fitted on the coded latents (python -m fastcodec.train.fit_density, $FD steps at lr 1e-2 on 768 random 128^2 crops, rate only) and the gains with the densities on its RD loss (python -m fastcodec.train.fit_gains, $FG steps at lr 3e-3 on 96 cached batches of 16 random 128^2 crops, the transforms frozen)"
echo FACTORIZED-DONE
