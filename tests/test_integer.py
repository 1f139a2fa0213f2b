"""Integer prior networks: exact integer arithmetic (checked against a naive int64 evaluation) and
close to the float networks they freeze."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from fastcodec.integer import freeze_sequential  # noqa: E402
from fastcodec.integer.network import IntLayer  # noqa: E402
from fastcodec.layers import conv, deconv  # noqa: E402


def naive_accumulate(layer, a):
    """Python-int evaluation of a layer's accumulator (no float anywhere)."""
    a = a.numpy().astype(object)
    w = layer.weight_q.numpy().astype(np.int64).astype(object)
    bq = layer.bias_q.numpy().astype(np.int64).astype(object)
    s, p = layer.stride[0], layer.padding[0]
    n, cin, h, wd = a.shape
    if layer.transposed:
        k = w.shape[2]
        op = layer.output_padding[0]
        ho, wo = (h - 1) * s - 2 * p + k + op, (wd - 1) * s - 2 * p + k + op
        out = np.zeros((n, w.shape[1], ho, wo), dtype=object)
        for i in range(h):
            for j in range(wd):
                for u in range(k):
                    for v in range(k):
                        oi, oj = i * s - p + u, j * s - p + v
                        if 0 <= oi < ho and 0 <= oj < wo:
                            out[:, :, oi, oj] += np.einsum("nc,cd->nd", a[:, :, i, j], w[:, :, u, v])
    else:
        k = w.shape[2]
        ap = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))
        ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
        out = np.zeros((n, w.shape[0], ho, wo), dtype=object)
        for i in range(ho):
            for j in range(wo):
                patch = ap[:, :, i * s:i * s + k, j * s:j * s + k]
                out[:, :, i, j] = np.einsum("ncuv,dcuv->nd", patch, w)
    return out + bq[None, :, None, None]


@pytest.mark.parametrize("make", [lambda: conv(6, 5, 3, 1), lambda: conv(6, 5, 5, 2), lambda: deconv(6, 5, 5, 2)])
def test_accumulator_is_exact(make):
    torch.manual_seed(0)
    layer = IntLayer(make(), in_frac=4, out_frac=6)
    a = torch.randint(-(2 ** 15) + 1, 2 ** 15, (2, 6, 5, 7))
    got = layer.accumulate(a).to(torch.int64).numpy()
    assert (got.astype(object) == naive_accumulate(layer, a)).all()


def test_frozen_network_is_close_to_float_and_deterministic():
    torch.manual_seed(0)
    seq = nn.Sequential(deconv(8, 12), nn.LeakyReLU(), deconv(12, 18), nn.LeakyReLU(), conv(18, 24, 3, 1))
    calib = [torch.round(torch.randn(1, 8, 4, 6) * 4) for _ in range(4)]
    frozen = freeze_sequential(seq, calib)
    z = torch.round(torch.randn(1, 8, 4, 6) * 4)
    with torch.no_grad():
        ref = seq(z)
    out = frozen(z)
    assert float((out - ref).norm() / ref.norm()) < 1e-2
    # thread count, batch and layout do not change a single bit
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = frozen(z)
        torch.set_num_threads(2)
        two = frozen(z.contiguous(memory_format=torch.channels_last))
        batch = frozen(torch.cat([z, torch.zeros_like(z), z]))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, out) and torch.equal(two, out) and torch.equal(batch[2:], out)
    assert torch.equal(out * 2.0 ** frozen.out_frac, torch.round(out * 2.0 ** frozen.out_frac))
