"""Re-deriving the entropy-model variants after a base (mbt2018-mean) re-export.

    python results/training/derived.py save DIR    # before the export: full float states of the
                                                   # shipped derived models -> DIR/old_<name>.safetensors
    python results/training/derived.py merge DIR   # after it: DIR/init_<name>.safetensors = the frozen
                                                   # shared parts from the new base + the trained parts
                                                   # of the previous version (warm starts for training)

The derived files in the zoo store only their differences from the base and pin its sha256, so
they cannot be loaded once the base changes: save first. (Sessions 3-4 used merge.py / merge4.py,
kept as the record of what ran.)
"""
import json
import sys

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from fastcodec.zoo import WEIGHTS_DIR, load_model, save_float_weights

# modules each derived model takes from the base (the rest is its own, trained on the base)
# (film.: the per-quality modulation of the transforms, from session 15 on, where the base has it)
FROM_BASE = {
    "mbt2018": ("g_a.", "g_s.", "gains.", "film.", "h_a.", "h_s.", "entropy_bottleneck."),
    "he2021-checkerboard": ("g_a.", "g_s.", "gains.", "film.", "h_a.", "h_s.", "entropy_bottleneck."),
    "bmshj2018-hyperprior": ("g_a.", "g_s.", "gains.", "film."),
    # from session 6 (before: its own transforms, trained apart); its densities are re-fitted with
    # fastcodec.train.fit_density on the new transforms; from session 24 its gains (the base's here)
    # are re-fitted to its own RD loss with fastcodec.train.fit_gains; from session 26 its own encoder
    # (g_a and the FiLM values trained on the base's g_s): only g_s comes from the base
    "bmshj2018-factorized": ("g_s.",),
}


def save(folder):
    for name in FROM_BASE:
        m = load_model(name)
        with safe_open(str(WEIGHTS_DIR / f"{name}.safetensors"), "pt") as f:
            shared = f.metadata().get("shared_tensors", "[]")
        state = save_float_weights(m, f"{folder}/old_{name}.safetensors", {"shared_tensors": shared})
        print(name, len(state), "tensors saved")


def merge(folder):
    base_model = load_model("mbt2018-mean")
    base = {k: v.float() for k, v in base_model.state_dict().items()}
    for name, prefixes in FROM_BASE.items():
        path = f"{folder}/old_{name}.safetensors"
        old = load_file(path)
        with safe_open(path, "pt") as f:
            meta = f.metadata()
        # from session 28: a part the shipped version stored as its own (trained, not shared with the
        # base: the factorized model's own g_s) stays its own; files saved before record nothing
        shared = meta.get("shared_tensors")
        if shared is not None:
            shared = set(json.loads(shared))
            prefixes = tuple(p for p in prefixes if any(k.startswith(p) for k in shared))
        meta.pop("shared_tensors", None)
        # parts the base has and the old version lacks (its FiLM, the first time) come with it
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
        print(name, n_base, "tensors from the base,", len(out) - n_base, "kept")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "merge"):
        raise SystemExit(__doc__)
    {"save": save, "merge": merge}[sys.argv[1]](sys.argv[2])
