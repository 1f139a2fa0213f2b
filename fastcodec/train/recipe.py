"""The training recipe of the shipped zoo, one step at a time (docs/training.md).

    python -m fastcodec.train.recipe STEP [--runs DIR] [--data DIR] [--tag NAME] [--dry-run] ...

Run it from the repository root: the defaults are paths relative to it (../shared/data/train,
runs/). Each step runs `python -m fastcodec.train ...` and the other training tools
(fastcodec.train.export, fit_density, fit_gains, valcurve; `fastcodec eval`) as subprocesses, and a few
file operations in this process; `--dry-run` prints them in order and runs nothing.

Steps, in the order of a full export of the zoo:

  base             the base run: mbt2018-mean from the shipped weights, 16x128^2 crops, per-quality
                   FiLM at 10x the lr, --balance-qualities, weight average 0.999, lr 1e-4
                   (resumable: the same command continues it; stop it with SIGTERM)
  decay            a 1,000-step lr-5e-5 fork of the base run (the run itself stays undecayed)
  save             the shipped derived models' float weights, and a copy of the shipped zoo files
                   (a derived zoo file pins its base's sha256: it must be read before the base changes)
  base-entropy     from the fork's weight average: 600 rate-only steps of h_a, h_s and the z density
                   on 4x512^2 crops (--balance-qualities), then the export of mbt2018-mean
  merge            warm starts of the derived models: the new base's shared parts + their own parts
  context          mbt2018, he2021-checkerboard: 400 rate-only steps of the context part; export
  hyperprior       bmshj2018-hyperprior: 2,000 rate-only steps of h_a, h_s, z density; export
  factorized       bmshj2018-factorized: 4,000 steps of the whole model on its RD loss, then
                   factorized-ship
  factorized-ship  a bmshj2018-factorized checkpoint's weight average exported to a scratch zoo,
                   fit_density (1,500 steps), fit_gains (1,000 steps), export with --base mbt2018-mean
  compare          valcurve of each previously shipped model against the new one (--val photos): the
                   figures of the commit's `Weights:` lines (docs/weights.md)
  kodak            the Kodak report of all five models (fastcodec eval; never a decision)
  final            base-entropy, merge, context, hyperprior, factorized
  export-all       decay, save, final, compare, kodak
  burst-prepare    copy the held-out photos and as many training photos as fit a byte budget
                   (with the working tree) into .burst/data, for a GPU machine given a copy of the tree
  burst            on that machine: build the package, train the base on the GPU for
                   --burst-seconds, export its weight average under $OUT/zoo

Step counts already shipped (--base-offset, --ctx-offset, --hp-offset, --f-offset) default to the
zoo manifest's, read once when the command starts; pass them explicitly when resuming a partly
run export, since each export moves the manifest on."""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "zoo" / "manifest.json"
BASE = "mbt2018-mean"
CONTEXT_MODELS = ("mbt2018", "he2021-checkerboard")
ALL_MODELS = (BASE, "mbt2018", "he2021-checkerboard", "bmshj2018-hyperprior", "bmshj2018-factorized")

# what each derived model takes from the base; the rest is its own, trained on the base (film.: the
# per-quality modulation of the transforms). The factorized model has its own encoder, decoder and
# FiLM values: only parts its shipped file still shares with the base come from it (see merge).
FROM_BASE = {
    "mbt2018": ("g_a.", "g_s.", "gains.", "film.", "h_a.", "h_s.", "entropy_bottleneck."),
    "he2021-checkerboard": ("g_a.", "g_s.", "gains.", "film.", "h_a.", "h_s.", "entropy_bottleneck."),
    "bmshj2018-hyperprior": ("g_a.", "g_s.", "gains.", "film."),
    "bmshj2018-factorized": ("g_s.",),
}

FITS_NOTE = ("then the densities re-fitted on the coded latents (python -m fastcodec.train.fit_density, {fd} steps "
             "at lr 1e-2 on 768 random 128^2 crops, rate only) and the gains with the densities on its RD loss "
             "(python -m fastcodec.train.fit_gains, {fg} steps at lr 3e-3 on 96 cached batches of 16 random "
             "128^2 crops, the transforms frozen)")

STEPS = ("base", "decay", "save", "base-entropy", "merge", "context", "hyperprior", "factorized",
         "factorized-ship", "compare", "kodak", "final", "export-all", "burst-prepare", "burst")
COMPOSITE = {
    "final": ("base-entropy", "merge", "context", "hyperprior", "factorized"),
    "export-all": ("decay", "save", "final", "compare", "kodak"),
}


# ---------------------------------------------------------------------------------------------
# actions: a subprocess (argv, "python" meaning this interpreter) or a call in this process
class Cmd:
    def __init__(self, argv, tee=None, timeout=None):
        self.argv = [str(a) for a in argv]
        self.tee, self.timeout = tee, timeout

    def show(self):
        text = shlex.join(self.argv)
        if self.timeout is not None:
            text = f"timeout -s TERM {self.timeout} {text}"
        return text + (f" 2>&1 | tee {shlex.quote(str(self.tee))}" if self.tee else "")

    def run(self):
        argv = [sys.executable if a == "python" else a for a in self.argv]
        env = dict(os.environ)
        env.setdefault("GOMP_SPINCOUNT", "10000")   # torch's idle OpenMP threads otherwise hold the cores
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.timeout is None and self.tee is None:
            rc = subprocess.run(argv, env=env).returncode
        else:
            rc = _run_timed(argv, env, self.tee, self.timeout)
        if rc != 0:
            raise SystemExit(f"recipe: exit status {rc}: {self.show()}")


class Call:
    def __init__(self, show, func, *args):
        self.text, self.func, self.args = show, func, args

    def show(self):
        return self.text

    def run(self):
        self.func(*self.args)


def _run_timed(argv, env, tee, timeout):
    """Runs argv, its output also written to `tee`; after `timeout` seconds it gets SIGTERM (a
    `fastcodec train` run then checkpoints and stops: that counts as success)."""
    import threading

    out = open(tee, "w") if tee else None
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def copy():
        for line in proc.stdout:
            sys.stdout.write(line)
            if out:
                out.write(line)

    reader = threading.Thread(target=copy, daemon=True)
    reader.start()
    stopped = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        stopped = True
        proc.wait()
    reader.join()
    if out:
        out.close()
    print(f"exit {proc.returncode}" + (" (stopped by the time limit, as planned)" if stopped else ""), flush=True)
    if stopped and proc.returncode in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
        return 0
    return proc.returncode


def _rm(path):
    shutil.rmtree(path, ignore_errors=True)


def _mkdir(path):
    Path(path).mkdir(parents=True, exist_ok=True)


def _cp(src, dst):
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def rm(path):
    return Call(f"rm -rf {shlex.quote(str(path))}", _rm, path)


def mkdir(path):
    return Call(f"mkdir -p {shlex.quote(str(path))}", _mkdir, path)


def cp(src, dst):
    return Call(f"cp {shlex.quote(str(src))} {shlex.quote(str(dst))}", _cp, src, dst)


# ---------------------------------------------------------------------------------------------
# in-process work (torch and the zoo are imported only here)
def checkpoint_step(path, dry_run):
    """The step count of a `fastcodec train` checkpoint; in a dry run of a file not written yet, a
    placeholder naming it."""
    if dry_run and not Path(path).exists():
        return f"<step of {path}>"
    import torch

    return int(torch.load(path, weights_only=True)["step"])


def plus(a, b):
    return a + b if isinstance(a, int) else f"{a}+{b}"


def weight_average_checkpoint(src, dst, use_ema=True):
    """A copy of checkpoint src whose weights are its moving average (use_ema) or its last weights,
    without the average: the start of a further run that should begin from the average."""
    import torch

    ck = torch.load(src, weights_only=True)
    if use_ema:
        ck["model"] = ck["ema"]
    ck.pop("ema", None)
    ck.pop("ema_decay", None)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, dst)
    print("base from", "the weight average" if use_ema else "the last weights", "at run step", ck["step"], flush=True)


def save_derived(folder, shipped):
    """The shipped derived models' full float states -> folder/old_<name>.safetensors (with the list
    of tensors each shares with the base), and the shipped zoo files as they are -> shipped/ (a
    derived file loads only beside its base)."""
    from safetensors import safe_open

    from fastcodec.zoo import WEIGHTS_DIR, load_model, save_float_weights

    Path(folder).mkdir(parents=True, exist_ok=True)
    for name in FROM_BASE:
        model = load_model(name)
        with safe_open(str(WEIGHTS_DIR / f"{name}.safetensors"), "pt") as f:
            shared = f.metadata().get("shared_tensors", "[]")
        state = save_float_weights(model, f"{folder}/old_{name}.safetensors", {"shared_tensors": shared})
        print(name, len(state), "tensors saved", flush=True)
    Path(shipped).mkdir(parents=True, exist_ok=True)
    for name in ALL_MODELS:
        shutil.copyfile(WEIGHTS_DIR / f"{name}.safetensors", Path(shipped) / f"{name}.safetensors")


def merge_derived(folder):
    """folder/init_<name>.safetensors: each derived model's saved weights with the parts it shares
    with the base replaced by the new base's (its warm start). A part the saved file stored as its
    own (not in its shared list) stays its own; parts the base has and the old file lacks come along."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from fastcodec.zoo import load_model

    base_model = load_model(BASE)
    base = {k: v.float() for k, v in base_model.state_dict().items()}
    for name, prefixes in FROM_BASE.items():
        path = f"{folder}/old_{name}.safetensors"
        old = load_file(path)
        with safe_open(path, "pt") as f:
            meta = f.metadata()
        shared = meta.get("shared_tensors")
        if shared is not None:
            shared = set(json.loads(shared))
            prefixes = tuple(p for p in prefixes if any(k.startswith(p) for k in shared))
        meta.pop("shared_tensors", None)
        old.update({k: v for k, v in base.items() if k.startswith(prefixes) and k not in old})
        out = {}
        for k, v in old.items():
            if k.startswith(prefixes):
                if base[k].shape != v.shape:
                    raise SystemExit(f"{name}: {k} has shape {tuple(v.shape)}, the base {tuple(base[k].shape)}")
                out[k] = base[k].contiguous()
            else:
                out[k] = v.contiguous()
        if base_model.config().get("film"):
            meta = dict(meta, config=json.dumps(dict(json.loads(meta["config"]), film=True)))
        save_file(out, f"{folder}/init_{name}.safetensors", metadata=meta)
        n_base = sum(k.startswith(prefixes) for k in out)
        print(name, n_base, "tensors from the base,", len(out) - n_base, "kept", flush=True)


def prepare_burst(data, budget_mib, seed, held_dirs, dst=".burst/data"):
    """Copies the held-out photos, then whole training photos in random order, into dst while the
    git-tracked and untracked (not ignored) files plus the photos stay within budget_mib (2 MiB spare)."""
    import random

    def listed(*extra):
        out = subprocess.run(["git", "ls-files", "-z", *extra], capture_output=True, check=True).stdout
        return [p for p in out.split(b"\0") if p]

    budget = int(float(budget_mib) * 2**20)
    tree = sum(os.path.getsize(p) for p in listed() + listed("--others", "--exclude-standard") if os.path.isfile(p))
    room = budget - tree - 2 * 2**20
    if room <= 0:
        raise SystemExit(f"the working tree ({tree / 2**20:.1f} MiB) leaves no room for photos")
    src, dst = Path(data), Path(dst)
    shutil.rmtree(dst, ignore_errors=True)
    photos = sorted(p for p in src.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    held = [p for p in photos if p.relative_to(src).parts[0] in held_dirs]
    rest = [p for p in photos if p not in held]
    random.Random(int(seed)).shuffle(rest)
    used = n = 0
    for p in held + rest:
        size = p.stat().st_size
        if used + size > room:
            if p in held:
                raise SystemExit("the held-out photos do not fit")
            continue
        out = dst / p.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, out)
        used += size
        n += 1
    print(f"tree {tree / 2**20:.1f} MiB; {dst} {used / 2**20:.1f} MiB, {n} of {len(photos)} photos "
          f"({len(held)} held out)", flush=True)


def _require(path, hint):
    if not Path(path).exists():
        raise SystemExit(f"{path} is missing: {hint}")


# ---------------------------------------------------------------------------------------------
# the steps: each returns its actions, planned when the step starts (after the steps before it ran)
def manifest_entries():
    entries = {e["name"]: e for e in json.loads(MANIFEST.read_text())["models"]} if MANIFEST.exists() else {}
    return entries


def resolve_defaults(a):
    """Fills the shipped step counts and the factorized model's history from the manifest."""
    entries = manifest_entries()

    def steps(name):
        if name not in entries:
            raise SystemExit(f"{MANIFEST} has no entry for {name}: pass its step count explicitly")
        return int(entries[name]["steps"])

    if a.base_offset is None:
        a.base_offset = steps(BASE) - a.hy_steps
    if a.ctx_offset is None:
        a.ctx_offset = steps("mbt2018")
    if a.hp_offset is None:
        a.hp_offset = steps("bmshj2018-hyperprior")
    if a.f_offset is None:
        a.f_offset = steps("bmshj2018-factorized")
    if a.f_history is None:
        notes = entries.get("bmshj2018-factorized", {}).get("notes", "")
        a.f_history = notes.split("; then the densities re-fitted")[0]


def train(*args):
    return Cmd(["python", "-m", "fastcodec.train", *args])


def export(*args):
    return Cmd(["python", "-m", "fastcodec.train.export", *args])


def plan_base(a):
    return [train("--arch", BASE, "--data", a.data, "--out", a.run, "--steps", a.base_steps, "--lr", "1e-4",
                  "--threads", a.threads, "--ema", "0.999", "--balance-qualities", "--compile-gdn",
                  "--lr-mult", "film=10", "--init", BASE)]


def plan_decay(a):
    run_ckpt = Path(a.run) / "ckpt.pt"
    if not a.dry_run:
        _require(run_ckpt, "run the base step first (or pass --run)")
    s = checkpoint_step(run_ckpt, a.dry_run)
    fork = a.work / "decay"
    return [rm(fork), mkdir(fork), cp(run_ckpt, fork / "ckpt.pt"),
            train("--arch", BASE, "--data", a.data, "--out", fork, "--steps", plus(s, 1000), "--lr", "5e-5",
                  "--threads", a.threads, "--ema", "0.999", "--init", BASE, "--balance-qualities", "--compile-gdn",
                  "--lr-mult", "film=10")]


def plan_save(a):
    folder, shipped = a.work / "derived", a.work / "shipped"
    return [Call(f"# save the shipped derived models' float weights -> {folder}/old_<name>.safetensors, "
                 f"the shipped zoo files -> {shipped}/<name>.safetensors", save_derived, folder, shipped)]


def plan_base_entropy(a):
    src = Path(a.base_ckpt) if a.base_ckpt else a.work / "decay" / "ckpt.pt"
    out = a.work / "base_entropy"
    if not a.dry_run:
        _require(src, "run the decay step first (or pass --base-ckpt)")
    base_step = checkpoint_step(src, a.dry_run)
    what = "the moving average (decay 0.999) of the weights" if a.use_ema else "the last weights"
    history = a.base_history if a.base_history is not None else \
        f"{a.base_offset:,} steps of the transforms before this run + "
    recipe = a.base_recipe or ("a run from the shipped weights (Adam afresh), 16x128^2 crops, per-quality FiLM "
                               "at 10x the lr, per-quality loss weights --balance-qualities, lr 1e-4, then 1,000 "
                               "steps at lr 5e-5 (a fork; the run itself continues undecayed)")
    notes = (f"N=128 M=192; {history}{base_step} ({a.tag}: {recipe}; exported: {what}) + {a.hy_steps} rate-only "
             f"steps of h_a, h_s and the z density on 4x512^2 crops (lr 1e-4, --balance-qualities; g_a, g_s "
             f"frozen); one model for qualities 1-8 (gain vectors)")
    return [rm(out), mkdir(out),
            Call(f"# {src} with its weight average as its weights -> {out}/ckpt.pt" if a.use_ema else
                 f"# {src} without its weight average -> {out}/ckpt.pt",
                 weight_average_checkpoint, src, out / "ckpt.pt", a.use_ema),
            train("--arch", BASE, "--freeze", "g_a,g_s,gains", "--data", a.data, "--crop", "512", "--batch", "4",
                  "--lr", "1e-4", "--steps", plus(base_step, a.hy_steps), "--out", out, "--threads", a.threads,
                  "--ema", "0.99", "--balance-qualities"),
            export(out / "ckpt.pt", "--ema", "--arch", BASE, "--name", BASE, "--calibration", a.calibration,
                   "--step-offset", a.base_offset, "--notes", notes)]


def plan_merge(a):
    folder = a.work / "derived"
    return [Call(f"# warm starts {folder}/init_<name>.safetensors: {folder}/old_<name>.safetensors with the "
                 f"parts shared with the base taken from the new {BASE}", merge_derived, folder)]


def plan_context(a):
    actions = []
    for arch in CONTEXT_MODELS:
        out = a.work / f"d_{arch}"
        actions += [
            rm(out),
            train("--arch", arch, "--init", a.work / "derived" / f"init_{arch}.safetensors",
                  "--freeze", "g_a,g_s,h_a,h_s,entropy_bottleneck,gains", "--data", a.data, "--crop", "512",
                  "--batch", "4", "--lr", "3e-5", "--steps", a.ctx_steps, "--out", out, "--threads", a.threads,
                  "--ema", "0.99"),
            export(out / "ckpt.pt", "--ema", "--arch", arch, "--name", arch, "--calibration", a.calibration,
                   "--base", BASE, "--step-offset", a.ctx_offset, "--notes",
                   f"context prediction + entropy parameters trained (rate only, lr 3e-5) on the frozen transforms "
                   f"and hyperprior of {BASE}: first on 8x256^2 crops, then on 4x512^2 crops (the last "
                   f"{a.ctx_steps:,} steps: {a.tag}); warm start from the previous version's context part")]
    return actions


def plan_hyperprior(a):
    arch, out = "bmshj2018-hyperprior", a.work / "d_hyperprior"
    return [rm(out),
            train("--arch", arch, "--init", a.work / "derived" / f"init_{arch}.safetensors", "--freeze", "g_a,g_s,gains",
                  "--data", a.data, "--crop", "512", "--batch", "4", "--lr", "1e-4", "--steps", a.hp_steps,
                  "--out", out, "--threads", a.threads, "--ema", "0.99"),
            export(out / "ckpt.pt", "--ema", "--arch", arch, "--name", arch, "--calibration", a.calibration,
                   "--base", BASE, "--step-offset", a.hp_offset, "--notes",
                   f"scale hyperprior (h_a, h_s, factorized z density) trained (rate only) on the frozen g_a/g_s of "
                   f"{BASE}: first on 16x128^2 crops, then on 4x512^2 crops (lr 1e-4; the last {a.hp_steps:,} steps: "
                   f"{a.tag}); warm start from the previous version")]


def plan_factorized(a):
    arch, out = "bmshj2018-factorized", a.work / "d_factorized"
    notes = (f"{a.f_history}; {a.f_steps:,} steps ({a.tag}) from the previous version (all of it trained: 16x128^2 "
             f"crops, lr 1e-4, FiLM at {a.f_film}x, --balance-qualities, exported from the weight average)")
    return [rm(out),
            train("--arch", arch, "--init", a.work / "derived" / f"init_{arch}.safetensors",
                  "--lr-mult", f"film={a.f_film}", "--data", a.data, "--lr", "1e-4", "--steps", a.f_steps,
                  "--out", out, "--threads", a.threads, "--ema", "0.999", "--balance-qualities", "--compile-gdn"),
            ] + ship_factorized(a, out / "ckpt.pt", a.f_offset + a.f_steps, notes)


def plan_factorized_ship(a):
    if not a.ckpt:
        raise SystemExit("factorized-ship: --ckpt names the bmshj2018-factorized run's ckpt.pt")
    step = checkpoint_step(a.ckpt, a.dry_run)
    total = a.total_steps if a.total_steps is not None else plus(step, a.f_offset)
    notes = a.notes if a.notes is not None else \
        f"{a.f_history}; {step} steps ({a.tag}) from the previous version, exported from the weight average"
    return ship_factorized(a, Path(a.ckpt), total, notes)


def ship_factorized(a, ckpt, total_steps, notes):
    arch, work = "bmshj2018-factorized", a.work / "factorized"
    fitted, gains = work / "factorized_fit.safetensors", work / "factorized_gains.safetensors"
    return [rm(work / "fz"), mkdir(work),
            # the run's log beside the fitted file: the final export's training record (<name>.train.json)
            cp(Path(ckpt).parent / "log.jsonl", work / "log.jsonl"),
            export(ckpt, "--ema", "--arch", arch, "--name", arch, "--zoo-dir", work / "fz"),
            Cmd(["python", "-m", "fastcodec.train.fit_density", "--arch", arch,
                 "--init", work / "fz" / "weights" / f"{arch}.safetensors", "--data", a.data, "--out", fitted,
                 "--steps", a.fd_steps]),
            Cmd(["python", "-m", "fastcodec.train.fit_gains", "--init", fitted, "--data", a.data, "--out", gains,
                 "--steps", a.fg_steps, "--threads", a.threads]),
            export(gains, "--arch", arch, "--name", arch, "--base", BASE, "--step-offset", total_steps, "--notes",
                   f"{notes}; " + FITS_NOTE.format(fd=f"{a.fd_steps:,}", fg=f"{a.fg_steps:,}"))]


def plan_compare(a):
    val = Path(a.val)
    return [Cmd(["python", "-m", "fastcodec.train.valcurve", a.work / "shipped" / f"{name}.safetensors", name,
                 "--data", val.parent, "--dirs", val.name, "--threads", a.threads]) for name in ALL_MODELS]


def plan_kodak(a):
    # `fastcodec eval` (its module path is not part of the interface)
    return [Cmd(["python", "-m", "fastcodec.cli.main", "eval", "--data", a.kodak, "--out", a.results, "--merge",
                 "--models", ",".join(ALL_MODELS), "--threads", a.threads])]


def plan_burst_prepare(a):
    return [Call(f"# copy the photos of {a.data} that fit {a.budget_mib} MiB with the working tree into "
                 f".burst/data (held out first: {a.val_dirs}; seed {a.seed})",
                 prepare_burst, a.data, a.budget_mib, a.seed, tuple(d for d in a.val_dirs.split(",") if d))]


def plan_burst(a):
    out = a.burst_out or os.environ.get("OUT")
    if not out:
        raise SystemExit("burst: --burst-out (or $OUT) names the folder whose files come back")
    if not a.dry_run:
        _require(".burst/data", "run burst-prepare here and carry .burst to the GPU machine")
    run = a.work / "burst"
    actions = []
    if a.build:
        actions.append(Cmd(["python", "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "-e", "."]))
    actions += [
        Cmd(["python", "-c", "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"]),
        rm(run),
        Cmd(["python", "-m", "fastcodec.train", "--arch", BASE, "--data", ".burst/data", "--out", run,
             "--steps", "10000000", "--lr", a.burst_lr, "--batch", a.burst_batch, "--crop", a.burst_crop,
             "--device", a.burst_device, "--ema", "0.999", "--init", a.burst_init, "--balance-qualities",
             "--lr-mult", "film=10"], tee=Path(out) / "train.log", timeout=a.burst_seconds),
        export(run / "ckpt.pt", "--arch", BASE, "--name", BASE, "--ema", "--zoo-dir", Path(out) / "zoo", "--notes",
               f"GPU burst (python -m fastcodec.train.recipe burst): {a.burst_batch}x{a.burst_crop}^2 crops, "
               f"lr {a.burst_lr}, from {a.burst_init}")]
    return actions


PLANS = {
    "base": plan_base, "decay": plan_decay, "save": plan_save, "base-entropy": plan_base_entropy,
    "merge": plan_merge, "context": plan_context, "hyperprior": plan_hyperprior, "factorized": plan_factorized,
    "factorized-ship": plan_factorized_ship, "compare": plan_compare, "kodak": plan_kodak,
    "burst-prepare": plan_burst_prepare, "burst": plan_burst,
}


def expand(step):
    """The simple steps of a step, in order."""
    if step in COMPOSITE:
        return [s for part in COMPOSITE[step] for s in expand(part)]
    return [step]


# ---------------------------------------------------------------------------------------------
def build_parser():
    p = argparse.ArgumentParser(prog="python -m fastcodec.train.recipe", description=__doc__.split("\n\n")[0],
                                epilog="Steps: " + ", ".join(STEPS) + " (see the module's docstring and docs/training.md).")
    p.add_argument("step", choices=STEPS, metavar="STEP", help="one of: " + ", ".join(STEPS))
    p.add_argument("--dry-run", action="store_true", help="print the commands in order, run nothing")
    p.add_argument("--runs", default="runs", help="folder of the runs and work files (default runs/, ignored by git)")
    p.add_argument("--tag", default=time.strftime("%Y-%m-%d"),
                   help="name of this export's work folder under --runs and in the manifest notes (default: today)")
    p.add_argument("--data", default="../shared/data/train", help="training photos (set5, set14 held out)")
    p.add_argument("--calibration", default="../shared/data/train/mcmaster",
                   help="photos the integer prior path is frozen on at export (never Kodak)")
    p.add_argument("--val", default="../shared/data/val", help="the photos `compare` measures on")
    p.add_argument("--kodak", default="../shared/data/kodak")
    p.add_argument("--results", default="results", help="where `kodak` merges its figures")
    p.add_argument("--threads", type=int, default=2)
    g = p.add_argument_group("base run and export of the base")
    g.add_argument("--run", default=None, help="the base run's folder (default RUNS/base)")
    g.add_argument("--base-steps", type=int, default=200000, help="base: the run's step cap (stop it with SIGTERM)")
    g.add_argument("--base-ckpt", default=None, help="base-entropy: the checkpoint to export (default: the decay fork)")
    g.add_argument("--no-ema", dest="use_ema", action="store_false",
                   help="base-entropy: start from the last weights instead of the weight average")
    g.add_argument("--hy-steps", type=int, default=600, help="rate-only steps of the base's entropy model")
    g.add_argument("--base-offset", type=int, default=None,
                   help="transform steps trained before the base run started (default: the manifest's "
                        "mbt2018-mean steps minus --hy-steps)")
    g.add_argument("--base-history", default=None, help="the base's notes before this run, ending in ' + '")
    g.add_argument("--base-recipe", default=None, help="how this base run trained, for the notes")
    g = p.add_argument_group("derived models")
    g.add_argument("--ctx-steps", type=int, default=400)
    g.add_argument("--ctx-offset", type=int, default=None, help="the context models' shipped steps (default: manifest)")
    g.add_argument("--hp-steps", type=int, default=2000)
    g.add_argument("--hp-offset", type=int, default=None, help="the hyperprior's shipped steps (default: manifest)")
    g.add_argument("--f-steps", type=int, default=4000, help="factorized: whole-model steps")
    g.add_argument("--f-film", default="10", help="factorized: the FiLM values' learning-rate multiplier")
    g.add_argument("--f-offset", type=int, default=None, help="the factorized model's shipped steps (default: manifest)")
    g.add_argument("--f-history", default=None,
                   help="the factorized notes before this export (default: the manifest's, up to the fits)")
    g.add_argument("--fd-steps", type=int, default=1500, help="fit_density steps")
    g.add_argument("--fg-steps", type=int, default=1000, help="fit_gains steps")
    g.add_argument("--ckpt", default=None, help="factorized-ship: the run's ckpt.pt")
    g.add_argument("--total-steps", type=int, default=None,
                   help="factorized-ship: the step count to record (default: --f-offset + the run's steps)")
    g.add_argument("--notes", default=None, help="factorized-ship: the notes before the fits' description")
    g = p.add_argument_group("GPU burst")
    g.add_argument("--budget-mib", type=float, default=64, help="burst-prepare: the tree and the photos together")
    g.add_argument("--seed", type=int, default=0, help="burst-prepare: order of the photos")
    g.add_argument("--val-dirs", default="set5,set14", help="burst-prepare: held-out subfolders, always copied")
    g.add_argument("--burst-out", default=None, help="burst: folder of what comes back (default $OUT)")
    g.add_argument("--burst-seconds", type=int, default=420)
    g.add_argument("--burst-batch", type=int, default=32)
    g.add_argument("--burst-crop", type=int, default=128)
    g.add_argument("--burst-lr", default="1e-4")
    g.add_argument("--burst-device", default="cuda")
    g.add_argument("--burst-init", default=BASE, help="weights to start from (zoo name or file)")
    g.add_argument("--no-build", dest="build", action="store_false", help="burst: skip the pip build")
    return p


def parse(argv=None):
    from fastcodec.train.kodak import refuse_kodak

    a = build_parser().parse_args(argv)
    for argument, path in (("--data", a.data), ("--calibration", a.calibration), ("--val", a.val)):
        refuse_kodak(argument, path)
    a.work = Path(a.runs) / a.tag
    a.run = a.run or str(Path(a.runs) / "base")
    needs_manifest = {"base-entropy", "context", "hyperprior", "factorized", "factorized-ship"}
    if needs_manifest & set(expand(a.step)):
        resolve_defaults(a)
    return a


def main(argv=None):
    a = parse(argv)
    if a.dry_run:
        print(f"# {a.step}: work folder {a.work}" + (
            f"; shipped steps: base transforms {a.base_offset}, context {a.ctx_offset}, hyperprior {a.hp_offset}, "
            f"factorized {a.f_offset}" if a.base_offset is not None else ""))
    for step in expand(a.step):
        actions = PLANS[step](a)
        print(f"# --- {step}", flush=True)
        for action in actions:
            print(action.show(), flush=True)
            if not a.dry_run:
                action.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
