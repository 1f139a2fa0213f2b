"""Warm-start files for the derived models after a base re-export: the frozen shared parts from the
new base, the trained entropy-model parts from the previous derived weights."""
import torch
from safetensors.torch import load_file, save_file
from fastcodec.zoo import load_model

base = {k: v.float() for k, v in load_model("mbt2018-mean").state_dict().items()}
rules = {
    "mbt2018": ("g_a.", "g_s.", "gains.", "h_a.", "h_s.", "entropy_bottleneck."),
    "he2021-checkerboard": ("g_a.", "g_s.", "gains.", "h_a.", "h_s.", "entropy_bottleneck."),
    "bmshj2018-hyperprior": ("g_a.", "g_s.", "gains."),
}
for name, from_base in rules.items():
    old = load_file(f"/work/runs/old4_{name}.safetensors")
    out = {}
    for k, v in old.items():
        if k.startswith(from_base):
            assert base[k].shape == v.shape, k
            out[k] = base[k].contiguous()
        else:
            out[k] = v.contiguous()
    import json
    save_file(out, f"/work/runs/init_{name}.safetensors", metadata={"architecture": name, "config": json.dumps({"N": 128, "M": 192})})
    print(name, sum(k.startswith(from_base) for k in out), "from base,", sum(not k.startswith(from_base) for k in out), "kept")
