"""Widening the latent of a trained base (fastcodec.train.widen): the widened model reconstructs and
prices the old channels exactly as before, the new channels start cheap, and it trains."""
import json

import pytest

torch = pytest.importorskip("torch")

from fastcodec.models import build  # noqa: E402
from fastcodec.train.widen import main, widen  # noqa: E402


def small_model():
    torch.manual_seed(0)
    m = build("mbt2018-mean", N=16, M=24)
    with torch.no_grad():  # a model whose latents are not ~0: scale up g_a's output
        m.g_a[-1].weight.mul_(20)
    return m.eval()


@pytest.mark.parametrize("q", [0, 3, 7])
def test_widened_model_keeps_reconstruction_and_prior(q):
    m = small_model()
    w = widen(m, 40).eval()
    assert w.M == 40 and w.config()["M"] == 40
    x = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(q))
    qq = torch.tensor([q, q])
    with torch.no_grad():
        a, b = m(x, qq), w(x, qq)
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)
    assert torch.equal(a["likelihoods"]["z"], b["likelihoods"]["z"])
    assert torch.allclose(a["likelihoods"]["y"], b["likelihoods"]["y"][:, :24], atol=1e-6)
    # the new channels: nonzero latents at the top quality, nearly free at the bottom
    new_bits = -torch.log2(b["likelihoods"]["y"][:, 24:]).sum() / (2 * 128 * 128)
    old_bits = -torch.log2(a["likelihoods"]["y"]).sum() / (2 * 128 * 128)
    assert float(new_bits) < 0.5 * float(old_bits) + 0.01


def test_widened_model_trains_its_new_channels():
    w = widen(small_model(), 40).train()
    opt = torch.optim.Adam(w.parameters(), lr=1e-3)
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    before = w.g_s[0].weight[24:].abs().sum().item()
    for _ in range(3):
        out = w(x, torch.tensor([7, 7, 7, 7]))
        loss = (out["x_hat"] - x).pow(2).mean() * 1000 - torch.log2(out["likelihoods"]["y"]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert before == 0.0 and w.g_s[0].weight[24:].abs().sum().item() > 0


def test_widen_rejects_other_architectures_and_narrowing():
    with pytest.raises(ValueError, match="new_m"):
        widen(small_model(), 24)
    with pytest.raises(ValueError, match="mbt2018-mean"):
        widen(build("bmshj2018-hyperprior", N=16, M=24), 40)


def test_cli_writes_loadable_weights(tmp_path):
    from fastcodec.zoo import save_float_weights

    from fastcodec.zoo import load_weights

    m = small_model()
    src = tmp_path / "base.safetensors"
    save_float_weights(m, src)
    out = tmp_path / "wide.safetensors"
    main([str(src), "--M", "40", "--out", str(out)])
    arch, cfg, state = load_weights(out)
    assert arch == "mbt2018-mean" and cfg["M"] == 40 and state["g_a.6.weight"].shape[0] == 40


def test_widened_checkpoint_resumes_the_run(tmp_path):
    import numpy as np

    from fastcodec.train.data import CropSampler
    from fastcodec.train.loop import train
    from fastcodec.train.widen import widen_checkpoint, widen_state

    class ArraySampler(CropSampler):
        def __init__(self, images):
            self.images = images

    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)])
    torch.manual_seed(0)
    train(build("mbt2018-mean", N=8, M=12), sampler, tmp_path / "a", 2, batch_size=8, crop=64, ckpt_every=2,
          ema=0.9, balance=True)
    ckpt = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=True)
    wide = widen_checkpoint(ckpt, 20)
    assert json.loads(wide["config"])["M"] == 20 and wide["step"] == 2
    model_state = widen_state(ckpt["model"], 12, 20)
    assert all(torch.equal(model_state[k], wide["model"][k]) for k in model_state)
    assert torch.equal(wide["ema"]["g_a.6.weight"][12:], wide["model"]["g_a.6.weight"][12:])  # same new filters
    i = wide["param_names"].index("g_s.0.weight")
    moments = wide["optimizer"]["state"][i]
    old = ckpt["optimizer"]["state"][i]
    assert moments["exp_avg"].shape[0] == 20 and torch.equal(moments["exp_avg"][:12], old["exp_avg"])
    assert (moments["exp_avg"][12:] == 0).all()
    assert torch.allclose(moments["exp_avg_sq"][12:], old["exp_avg_sq"].mean().expand(8, *old["exp_avg_sq"].shape[1:]))
    (tmp_path / "b").mkdir()
    torch.save(wide, tmp_path / "b" / "ckpt.pt")
    train(build("mbt2018-mean", N=8, M=20), sampler, tmp_path / "b", 4, batch_size=8, crop=64, ckpt_every=2,
          ema=0.9, balance=True)
    assert torch.load(tmp_path / "b" / "ckpt.pt", weights_only=True)["step"] == 4
