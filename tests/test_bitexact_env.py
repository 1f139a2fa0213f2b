"""Decoding under a deliberately different float environment (ATen's scalar kernels instead of
SIMD, one thread) gives exactly the latents the encoder's process decodes, for every golden model
(mean-scale, mbt2018, he2021-checkerboard with v1 and int32 integer priors, the scale hyperprior, the
per-quality factorized model). The same check over the
Kodak set and the shipped models: python -m benchmarks.check_bitexact."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "tests" / "golden" / "zoo" / "weights"
MODELS = ["golden-tiny", "golden-tiny-mbt2018", "golden-tiny-checkerboard", "golden-tiny-int32", "golden-tiny-int32-mbt2018",
          "golden-tiny-hyperprior", "golden-tiny-factorized"]


def test_latents_identical_in_a_perturbed_decoder(tmp_path):
    sys.path.insert(0, str(ROOT))
    from benchmarks.check_bitexact import latent
    from fastcodec.zoo import load_model

    rng = np.random.default_rng(0)
    lines = []
    for name in MODELS:
        path = str(WEIGHTS / f"{name}.safetensors")
        model = load_model(path)
        for q, (h, w) in [(0, (50, 70)), (5.5, (64, 64)), (7, (37, 90))]:
            x = torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32))
            c = model.compress(x, q)
            y_hat = latent(model, c["strings"], c["latent"], q)
            rec = tmp_path / f"{name}_{q}.npz"
            np.savez(rec, y_hat=y_hat, latent=np.array(c["latent"]), q=q,
                     **{f"s{k}": np.frombuffer(s, np.uint8) for k, s in enumerate(c["strings"])})
            lines.append(f"{path}\t{rec}")
    lst = tmp_path / "list.tsv"
    lst.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "benchmarks.check_bitexact", "--decode-list", str(lst)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert len(rows) == len(MODELS)
    for _, n, mismatches, errors in rows:
        assert (int(n), int(mismatches), int(errors)) == (3, 0, 0), out.stdout + out.stderr
