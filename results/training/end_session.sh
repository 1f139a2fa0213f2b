#!/bin/bash
# The end of a session, from session 12 on (it replaces end10.sh and end11.sh, the per-session copies
# of sessions 10 and 11, which differed only in the values below): stop the base run; a 1,000-step
# lr-5e-5 decay fork of it (the run's own checkpoint stays undecayed for the next session);
# derived.py save; final_phase.sh from the fork's weight average; valcurve against the previously
# shipped base; the Kodak evaluation of all five models.
#
#   SESSION       this session's number
#   BASE_OFFSET   transform steps shipped before this session's run started (final_phase.sh)
#   CTX_OFFSET / HP_OFFSET   shipped step counts of the context models / the hyperprior
#   RUN_DESC      how this session's run started, for the notes, e.g. "a run started in session 11
#                 from the shipped session-10 weights"; the script appends its step count
#   BASE_HISTORY  the shipped transform steps before it, ending in " + " (see final_phase.sh)
#   RUN_RECIPE    crops and learning rate of the run, for the notes (default "16x128^2 crops, ...,
#                 lr 2e-4", what sessions 10-12 ran)
#   RUN_ARGS      extra `fastcodec train` arguments of the run that the decay fork repeats (e.g.
#                 "--crop 256 --batch 8", "--lr-mult film=10")
#   RUN           the run's folder (default /work/runs/mbt2018-mean; session 15: /work/runs/base-film)
#
# Sessions 10 and 11 ran the same steps with SESSION=10 BASE_OFFSET=53877 CTX_OFFSET=4400
# HP_OFFSET=5400 and SESSION=11 BASE_OFFSET=80092 CTX_OFFSET=4800 HP_OFFSET=6400 (HP_STEPS=1000).
: "${SESSION:?}" "${BASE_OFFSET:?}" "${CTX_OFFSET:?}" "${HP_OFFSET:?}" "${RUN_DESC:?}" "${BASE_HISTORY:?}"
set -ex
cd /work/main
export GOMP_SPINCOUNT=10000
R=/work/runs
PREV=$((SESSION - 1))
RUN=${RUN:-$R/mbt2018-mean}
pkill -TERM -f "out $RUN " || true
while pgrep -f "out $RUN " >/dev/null; do sleep 2; done
cp $RUN/ckpt.pt $R/mbt2018-mean_ckpt_s${SESSION}_final.pt
S=$(python -c "import torch;print(torch.load('$RUN/ckpt.pt',weights_only=True)['step'])")
echo "base run step $S"
rm -rf $R/decayfinal$SESSION && mkdir -p $R/decayfinal$SESSION
cp $RUN/ckpt.pt $R/decayfinal$SESSION/ckpt.pt
nice -n 10 fastcodec train --arch mbt2018-mean --data ../shared/data/train --out $R/decayfinal$SESSION --steps $((S + 1000)) \
  --lr 5e-5 --threads 2 --ema 0.999 --init mbt2018-mean --balance-qualities --compile-gdn ${RUN_ARGS:-}
mkdir -p $R/s$SESSION
python results/training/derived.py save $R/s$SESSION
cp fastcodec/zoo/weights/mbt2018-mean.safetensors $R/s$SESSION/shipped${PREV}_mbt2018-mean.safetensors
HP_STEPS=${HP_STEPS:-1000} BASE_CKPT=$R/decayfinal$SESSION/ckpt.pt \
 BASE_RECIPE="$RUN_DESC ($S steps), ${RUN_RECIPE:-16x128^2 crops, per-quality loss weights --balance-qualities, lr 2e-4}, then 1,000 steps at lr 5e-5 (a fork; the run itself continues undecayed)" \
 bash results/training/final_phase.sh
python -m fastcodec.train.valcurve $R/s$SESSION/shipped${PREV}_mbt2018-mean.safetensors mbt2018-mean 2>&1 | tail -4 || true
fastcodec eval --data ../shared/data/kodak --anchors ../shared/anchors --out results --merge \
  --models mbt2018-mean,mbt2018,he2021-checkerboard,bmshj2018-hyperprior,bmshj2018-factorized --threads 2
echo "END$SESSION-DONE"
