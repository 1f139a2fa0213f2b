"""The Triton int32 layer (fastcodec.kernels.int_layer) and the context path run through it, against
the integer reference: equal integers, equal bitstreams. Under TRITON_INTERPRET=1 without a GPU."""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from fastcodec import coding  # noqa: E402
from fastcodec.entropy.coders import GaussianCoder  # noqa: E402
from fastcodec.integer.context import CHECKERBOARD, WAVEFRONT, Int32Layer  # noqa: E402
from fastcodec.kernels.int_layer import int_layer  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize("n,cin,cout,leaky", [(1, 5, 3, -1), (19, 70, 33, 41), (40, 96, 17, 41)])
def test_int_layer_kernel_equals_reference(n, cin, cout, leaky):
    torch.manual_seed(n)
    layer, _ = Int32Layer.freeze(torch.randn(cout, cin), torch.randn(cout), in_frac=8, out_frac=7, leaky=leaky)
    x = torch.randint(-layer.in_amax, layer.in_amax + 1, (n, cin))
    x[0] = torch.sign(layer.weight_q[0].to(torch.int64)) * layer.in_amax  # the worst case of channel 0
    got = int_layer(x.to(DEVICE, torch.int16), layer.weight_q.to(DEVICE), layer.bias_q.to(DEVICE),
                    layer.shift.to(DEVICE), layer.amax, layer.leaky)
    assert torch.equal(got.cpu().to(torch.int64), layer(x))


@pytest.mark.parametrize("arch,order", [("mbt2018", WAVEFRONT), ("he2021-checkerboard", CHECKERBOARD)])
def test_context_coding_through_triton_equals_core(arch, order):
    from test_integer_context import frozen

    _, net, hyper, y = frozen(arch, order, M=8)
    hyper, y = hyper[:3, :4].copy(), y[:3, :4].copy()   # a 3x4 latent: few kernel launches when interpreted
    core = net.encode(hyper, y)
    tri = net.encode_reference(hyper, y, backend="triton")
    for a, b in zip(core, tri):
        assert np.array_equal(a, b)
    table = GaussianCoder.table()
    data = coding.encode(core[0], core[1], table)
    sym_t, mean_t = net.decode_reference(hyper, table, data, backend="triton")
    sym_c, mean_c = net.decode(hyper, table, data)
    assert np.array_equal(sym_t, sym_c) and np.array_equal(mean_t, mean_c)


@pytest.mark.parametrize("arch", ["mbt2018-mean", "bmshj2018-hyperprior"])
def test_int_conv_net_kernel_equals_reference(arch):
    """The int32 h_s (fastcodec.integer.conv) through the Triton layer kernel, phase by phase."""
    from fastcodec.integer.conv import freeze_conv_net
    from fastcodec.kernels.int_conv import int_conv_net
    from fastcodec.models import build

    torch.manual_seed(1)
    model = build(arch, N=8, M=12).eval()
    net = freeze_conv_net(model.h_s, [torch.round(torch.randn(1, 8, 3, 4) * 5) for _ in range(2)])
    for size in [(1, 1), (2, 3)]:
        z = torch.round(torch.randn(1, 8, *size) * 6)
        z[0, 0, 0, 0] = 20000  # clamped on entry
        assert torch.equal(int_conv_net(net, z).cpu().to(torch.int64), net.forward_int(z, "reference"))


def test_mean_scale_bitstream_is_the_same_with_the_triton_prior():
    from fastcodec.models import build

    torch.manual_seed(2)
    model = build("mbt2018-mean", N=8, M=12).eval()
    with torch.no_grad():
        model.gains.log_gain.add_(2.0)
    x = torch.rand(1, 3, 64, 48)
    zs = [torch.round(model.h_a(model.analyze(model.pad(x), torch.tensor([q])))) for q in (0, 7)]
    model.freeze_prior(zs)
    a = model.compress(x, 5)
    model.prior_backend = "triton"
    b = model.compress(x, 5)
    assert a["strings"] == b["strings"]


def test_elic2022_passes_through_triton_equal_core():
    """elic2022's integer context path with every network on the Triton kernels: the same bits."""
    from test_elic2022 import _frozen

    model = _frozen()
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(3))   # a 4x6 latent
    core = model.compress(x, 4)
    model.context_backend = "triton"
    try:
        tri = model.compress(x, 4)
        assert tri["strings"] == core["strings"]
        y_t = model.latent_codec.decompress(core["strings"], core["latent"])
    finally:
        model.context_backend = "core"
    assert torch.equal(y_t, model.latent_codec.decompress(core["strings"], core["latent"]))
