"""Widening the factorized model's encoder (fastcodec.train.widen_encoder): the widened g_a computes
the same y at every quality, codes the same streams, its new units train, and the config travels."""

import pytest

torch = pytest.importorskip("torch")

from fastcodec.models import build  # noqa: E402
from fastcodec.train.widen_encoder import main, widen_encoder  # noqa: E402


def small_model():
    torch.manual_seed(0)
    m = build("bmshj2018-factorized", film=True, N=8, M=12, density_per_quality=True)
    with torch.no_grad():  # latents that are not ~0, FiLM values that are not the identity
        m.g_a[-1].weight.mul_(20)
        m.film.log_scale.normal_(0, 0.2)
        m.film.shift.normal_(0, 0.2)
    return m.eval()


@pytest.mark.parametrize("q", [0, 3, 7])
def test_widened_encoder_computes_the_same_latent_and_streams(q):
    m = small_model()
    w = widen_encoder(m, 14).eval()
    assert w.N_a == 14 and w.N == 8 and w.config()["N_a"] == 14
    assert w.g_a[0].weight.shape[0] == 14 and w.g_s[0].weight.shape[1] == 8
    x = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(q))
    qt = torch.tensor([q])
    with torch.no_grad():
        assert torch.equal(m.analysis_train(x, qt, False), w.analysis_train(x, qt, False))
    a, b = m.compress(x, q), w.compress(x, q)
    assert a["strings"] == b["strings"]


def test_widened_encoder_trains_its_new_units():
    w = widen_encoder(small_model(), 14).train()
    opt = torch.optim.Adam([p for n, p in w.named_parameters() if n.startswith(("g_a.", "film."))], lr=1e-3)
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    before = w.g_a[2].weight[:, 8:].abs().sum().item()
    for _ in range(3):
        out = w(x, torch.tensor([7, 7, 7, 7]))
        loss = (out["x_hat"] - x).pow(2).mean() * 1000 - torch.log2(out["likelihoods"]["y"]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert before == 0.0 and w.g_a[2].weight[:, 8:].abs().sum().item() > 0


def test_widen_encoder_rejects_other_architectures_and_narrowing():
    with pytest.raises(ValueError, match="n_a must exceed"):
        widen_encoder(small_model(), 8)
    with pytest.raises(ValueError, match="mbt2018-mean"):
        widen_encoder(build("mbt2018-mean", N=8, M=12), 14)


def test_cli_writes_weights_that_rebuild_the_widened_model(tmp_path):
    from fastcodec.zoo import load_float_model, load_weights, save_float_weights

    m = small_model()
    src = tmp_path / "f.safetensors"
    save_float_weights(m, src)
    out = tmp_path / "wide.safetensors"
    assert main([str(src), "--N-a", "14", "--out", str(out)]) == 0
    arch, cfg, state = load_weights(out)
    assert arch == "bmshj2018-factorized" and cfg["N_a"] == 14 and state["g_a.0.weight"].shape[0] == 14
    again = load_float_model(out)
    assert again.N_a == 14 and again.film.log_scale.shape[1] == 3 * 14 + 3 * 8
