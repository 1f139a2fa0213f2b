"""Writes tests/compressai_layout.json: the state_dict layout (every key with its shape and dtype)
of CompressAI's bmshj2018-factorized, bmshj2018-hyperprior, mbt2018-mean and mbt2018 at quality 1,
after update() (so with the buffers a saved CompressAI checkpoint holds).
tests/test_compressai_compat.py builds state_dicts of this layout to test
fastcodec.models.compressai_compat without CompressAI installed (CI has no CompressAI).

Needs CompressAI, in a venv of its own as BENCHMARKS.md describes, e.g.

    python -m venv caienv --system-site-packages
    caienv/bin/pip install --no-deps compressai==1.2.8 torchvision torch_geometric xxhash einops
    caienv/bin/python tests/make_compressai_layout.py

PyPI's torchvision fails at import beside the CPU torch ("operator torchvision::nms does not
exist"); this script lets its two fake-kernel registrations fail quietly instead of editing the
installed file (it uses no torchvision operator). Rerun it when the converter is meant to follow a
newer CompressAI.
"""
import json
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent / "compressai_layout.json"
ARCHITECTURES = ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018")


def _tolerate_torchvision_fakes():
    register_fake = torch.library.register_fake

    def tolerant(op, *args, **kwargs):
        if not (isinstance(op, str) and op.startswith("torchvision::")):
            return register_fake(op, *args, **kwargs)
        try:
            decorate = register_fake(op, *args, **kwargs)
        except RuntimeError:
            return lambda fn: fn

        def quietly(fn):
            try:
                return decorate(fn)
            except RuntimeError:
                return fn
        return quietly

    torch.library.register_fake = tolerant


def main():
    _tolerate_torchvision_fakes()
    import compressai
    from compressai import zoo

    layouts = {}
    for arch in ARCHITECTURES:
        model = getattr(zoo, arch.replace("-", "_"))(quality=1, pretrained=False).eval()
        model.update(force=True)
        layouts[arch] = {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                         for k, v in model.state_dict().items()}
    OUT.write_text(json.dumps({"compressai": compressai.__version__, "quality": 1, "models": layouts}, indent=1) + "\n")
    print(f"wrote {OUT} (CompressAI {compressai.__version__})")


if __name__ == "__main__":
    main()
