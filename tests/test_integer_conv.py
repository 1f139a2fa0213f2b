"""The int32 h_s (fastcodec.integer.conv): reference = C++ core = Triton (interpreter), exact
fixed point close to the float network, overflow-prone models refused, shipped and reloaded
exactly, and the v1 networks of older files still loading."""
import numpy as np
import pytest
import torch
from torch import nn

from fastcodec import zoo
from fastcodec.functional.subpixel import phase_taps
from fastcodec.integer.conv import IntConvNet, freeze_conv_net
from fastcodec.models import build
from fastcodec.train.export import export


def _frozen(arch="mbt2018-mean", N=8, M=12, seed=0):
    torch.manual_seed(seed)
    model = build(arch, N=N, M=M).eval()
    zs = [torch.round(torch.randn(1, N, 3, 5) * 4) for _ in range(3)]
    return model, freeze_conv_net(model.h_s, zs), zs


def test_phase_taps_cover_the_kernel_once():
    for k, s, p in [(5, 2, 2), (3, 2, 1), (4, 2, 1), (5, 1, 2)]:
        phases = phase_taps(True, k, s, p)
        taps = sorted(t for _, _, ts in phases for t in ts)
        assert taps == sorted((ky, kx) for ky in range(k) for kx in range(k))
    assert len(phase_taps(False, 3, 1, 1)) == 1


@pytest.mark.parametrize("arch", ["mbt2018-mean", "bmshj2018-hyperprior"])
@pytest.mark.parametrize("size", [(1, 1), (3, 5), (4, 4)])
def test_core_equals_reference(arch, size):
    model, net, _ = _frozen(arch)
    torch.manual_seed(size[0] * 7 + size[1])
    z = torch.round(torch.randn(1, model.N, *size) * 6)
    ref = net.forward_int(z, "reference")
    assert ref.shape == (1, net.layers[-1].weight_q.shape[0], 4 * size[0], 4 * size[1])
    assert torch.equal(net.forward_int(z, "core"), ref)
    # extremes: inputs beyond the range are clamped on entry, the same in both
    big = torch.sign(torch.randn(1, model.N, *size)) * 50000
    assert torch.equal(net.forward_int(big, "core"), net.forward_int(big, "reference"))


def test_threads_give_the_same_integers():
    model, net, _ = _frozen()
    z = np.ascontiguousarray(np.round(np.random.default_rng(0).normal(0, 6, (5, 7, model.N))).astype(np.int32))
    one = net.core().run(z, 1)
    for t in (2, 3):
        assert np.array_equal(net.core().run(z, t), one)


def test_fixed_point_is_close_to_float():
    model, net, zs = _frozen()
    with torch.no_grad():
        f = model.h_s(zs[0])
    out = net(zs[0])
    frac = net.out_frac.double().reshape(1, -1, 1, 1)
    assert torch.equal(out.double() * 2.0 ** frac, torch.round(out.double() * 2.0 ** frac))
    assert float((out - f).norm() / f.norm()) < 0.02


def test_accumulator_bound_holds_for_every_phase():
    _, net, _ = _frozen()
    for layer in net.layers:
        wq = layer.weight_q.to(torch.int64).abs()
        wo = wq.transpose(0, 1) if layer.transposed else wq
        for _, _, taps in phase_taps(layer.transposed, layer.kernel, layer.stride, layer.pad):
            s = sum(wo[:, :, ky, kx].sum(1) for ky, kx in taps)
            half = torch.where(layer.shift > 0, 1 << (layer.shift.to(torch.int64) - 1).clamp(min=0), 0)
            bound = s * layer.in_amax + layer.bias_q.to(torch.int64).abs() + half
            assert int(bound.max()) <= 2 ** 31 - 1


def test_overflowing_model_is_refused():
    _, net, _ = _frozen()
    net.layers[1].weight_q.fill_(32767)
    net._core = None
    with pytest.raises(ValueError, match="overflow"):
        net.core()


def test_bad_inputs_raise():
    _, net, _ = _frozen()
    core = net.core()
    with pytest.raises(ValueError, match="z must be"):
        core.run(np.zeros((2, 2, 3), dtype=np.int32))
    with pytest.raises(TypeError, match="z must be"):
        core.run(np.zeros((2, 2, 8), dtype=np.int64))


def test_shipped_int32_prior_reloads_exactly(tmp_path):
    model, _, zs = _frozen()
    export(model, "m", 1, zoo_dir=tmp_path, calibration=zs)
    loaded = zoo.load_model(tmp_path / "weights" / "m.safetensors")
    assert isinstance(loaded.int_h_s, IntConvNet)
    model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})  # as shipped
    model.freeze_prior(zs)
    for a, b in zip(model.int_h_s.layers, loaded.int_h_s.layers):
        assert torch.equal(a.weight_q, b.weight_q) and torch.equal(a.shift, b.shift)
    assert torch.equal(loaded.prior_int(zs[1]), model.prior_int(zs[1]))


def test_v1_networks_still_load(tmp_path):
    """Files written before the int32 h_s carry a v1 network: it still loads and runs (reference)."""
    from fastcodec.integer import freeze_sequential

    model, _, zs = _frozen()
    model._set_int_h_s(freeze_sequential(model.h_s, zs))
    state = model.integer_state()
    fresh = build("mbt2018-mean", N=8, M=12).eval()
    fresh.load_state_dict(model.state_dict())
    fresh.set_integer_state(state)
    assert not isinstance(fresh.int_h_s, IntConvNet)
    assert torch.equal(fresh.prior(zs[0]), model.prior(zs[0]))


def test_layers_after_last_conv_are_checked():
    seq = nn.Sequential(nn.ConvTranspose2d(4, 4, 5, 2, 2, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, 1, 1), nn.ReLU())
    net = freeze_conv_net(seq, [torch.round(torch.randn(1, 4, 3, 3) * 3)])
    assert net.layers[-1].leaky == 0   # the final ReLU is part of the last layer
    with pytest.raises(TypeError):
        freeze_conv_net(nn.Sequential(nn.Conv2d(4, 4, 3, 1, 1), nn.Sigmoid()), [torch.zeros(1, 4, 2, 2)])
