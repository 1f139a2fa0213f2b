"""GDN/IGDN Triton kernels against the plain-torch reference and torch.compile of it, on a CUDA GPU.

    python -m benchmarks.bench_kernels            # table for BENCHMARKS.md (needs a GPU)
    pytest benchmarks/bench_kernels.py --benchmark-only

Reports median time and p20/p80 (triton.testing.do_bench) and effective bandwidth (x read once,
y written once) for activations of 256x256 crops (16 x 192 x 64 x 64 after the first layer of a
batch-16 analysis at 1/4 resolution, and others) and of Kodak-size images, with the GPU's measured
copy bandwidth for reference. Forward and forward + backward.
"""
import argparse

import pytest
import torch

SHAPES = {  # name: (B, C, H, W)
    "16 x 256^2 crops, layer 1 (1/2 res)": (16, 128, 128, 128),
    "16 x 256^2 crops, 16x192x64x64": (16, 192, 64, 64),
    "1 Kodak image, layer 1 (384x256)": (1, 128, 256, 384),
    "8 Kodak images, 1/4 res (192x128)": (8, 192, 128, 192),
}


def _bench(fn):
    from triton.testing import do_bench

    med, p20, p80 = do_bench(fn, quantiles=[0.5, 0.2, 0.8])
    return med, p20, p80


def copy_bandwidth(nbytes=1 << 30):
    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    med, _, _ = _bench(lambda: dst.copy_(src))
    return 2 * nbytes / (med * 1e-3) / 1e9


def run(dtype=torch.float32):
    from fastcodec.functional import gdn as reference
    from fastcodec.kernels.gdn import gdn as fused

    compiled = torch.compile(reference)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton "
          f"{__import__('triton').__version__}, dtype {dtype}; copy bandwidth {copy_bandwidth():.0f} GB/s\n")
    print("| shape | op | runner | median ms | p20-p80 ms | GB/s | speed-up vs torch |")
    print("|---|---|---|---|---|---|---|")
    for name, (b, c, h, w) in SHAPES.items():
        x = torch.randn(b, c, h, w, device="cuda", dtype=dtype)
        beta = torch.rand(c, device="cuda") + 0.5
        gamma = torch.rand(c, c, device="cuda") * 0.1
        nbytes = 2 * x.numel() * x.element_size()
        for inverse in (False, True):
            op = "IGDN" if inverse else "GDN"
            times = {}
            for runner, fn in (("torch", reference), ("torch.compile", compiled), ("triton", fused)):
                times[runner] = _bench(lambda: fn(x, beta, gamma, inverse))
            for runner, (med, p20, p80) in times.items():
                print(f"| {name} | {op} fwd | {runner} | {med:.3f} | {p20:.3f}-{p80:.3f} | "
                      f"{nbytes / (med * 1e-3) / 1e9:.0f} | {times['torch'][0] / med:.2f}x |")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gdn_forward(benchmark):
    from fastcodec.kernels.gdn import gdn

    x = torch.randn(16, 192, 64, 64, device="cuda")
    beta, gamma = torch.rand(192, device="cuda") + 0.5, torch.rand(192, 192, device="cuda") * 0.1
    benchmark(lambda: (gdn(x, beta, gamma), torch.cuda.synchronize()))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    a = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA GPU here: the kernel benchmarks need one (correctness runs under TRITON_INTERPRET=1 in tests)")
        return 0
    run(getattr(torch, a.dtype))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
