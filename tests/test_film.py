"""Per-quality modulation of the transforms (fastcodec.layers.film): identity as initialized, the
folded coding path equal to the modulated training path, each crop its own quality, stored and
loaded with its config, coded and decoded by every architecture."""
import json

import pytest

torch = pytest.importorskip("torch")

from conftest import learned_architectures  # noqa: E402
from fastcodec.models import build  # noqa: E402



def film_model(arch, seed=0, randomize=True):
    torch.manual_seed(seed)
    m = build(arch, N=16, M=24, film=True)
    with torch.no_grad():
        m.gains.log_gain.add_(2.0)  # non-trivial latents from random weights
        m.gains.log_inv_gain.sub_(2.0)
        if randomize:
            m.film.log_scale.normal_(0, 0.3)
            m.film.shift.normal_(0, 0.3)
    m.bf16_transforms = False
    return m.eval()


@pytest.mark.parametrize("arch", learned_architectures())
def test_identity_at_initialization(arch):
    """A model given FiLM computes exactly what it computed before (same weights, same bytes)."""
    plain = build(arch, N=16, M=24)
    with torch.no_grad():
        plain.gains.log_gain.add_(2.0)
        plain.gains.log_inv_gain.sub_(2.0)
    film = build(arch, N=16, M=24, film=True)
    film.load_state_dict({**plain.state_dict(), **{k: v for k, v in film.state_dict().items() if k.startswith("film.")}})
    for m in (plain, film):
        m.bf16_transforms = False
        m.eval()
    x = torch.rand(2, 3, 64, 64)
    q = torch.tensor([0, 7])
    with torch.no_grad():
        assert torch.equal(plain(x, q)["x_hat"], film(x, q)["x_hat"])
    one = torch.rand(1, 3, 40, 56)
    assert plain.compress(one, 5)["strings"] == film.compress(one, 5)["strings"]


def test_folded_coding_path_equals_the_modulated_training_path():
    m = film_model("mbt2018-mean")
    x = torch.rand(1, 3, 64, 96)
    for qv in (0, 5, 2.5):
        q = torch.tensor([qv])
        with torch.no_grad():
            y_code = m.analyze(x, q)
            y_train = m.analysis_train(x, q, autocast=False)
            assert float((y_code - y_train).abs().max()) < 1e-4 * float(y_train.abs().max())
            y_hat = torch.round(y_train)
            xs = m.synthesize(y_hat, q)
            xt = m.synthesis_train(y_hat * m.gains.inv_gain(q), autocast=False, q=q)
            assert float((xs - xt).abs().max()) < 1e-4


def test_modulation_matters_and_each_crop_keeps_its_quality():
    m = film_model("mbt2018-mean", randomize=False)
    x = torch.rand(1, 3, 64, 64).repeat(2, 1, 1, 1)
    q = torch.tensor([0, 7])
    with torch.no_grad():
        before = m(x, q)["x_hat"]
        m.film.shift[7].fill_(0.5)
        m.film.log_scale[7].fill_(0.3)
        after = m(x, q)["x_hat"]
    assert torch.equal(before[0], after[0])  # the q1 crop does not see q8's modulation
    assert float((before[1] - after[1]).abs().max()) > 1e-3
    # the coding path follows the new values (its folded copies are rebuilt when the weights change)
    with torch.no_grad():
        y8 = m.analyze(x[:1], torch.tensor([7]))
        assert torch.allclose(y8, m.analysis_train(x[:1], torch.tensor([7]), autocast=False), atol=1e-4)
        # a batch of mixed qualities is modulated per crop
        mixed = m.analyze(x, q)
        assert torch.allclose(mixed[0:1], m.analyze(x[:1], torch.tensor([0])), atol=1e-4)
        assert torch.allclose(mixed[1:2], y8, atol=1e-4)


def test_film_gets_gradients_in_training():
    m = film_model("bmshj2018-hyperprior", randomize=False).train()
    out = m(torch.rand(2, 3, 64, 64), torch.tensor([1, 6]), autocast=True)
    (out["x_hat"].square().mean() + sum(-torch.log2(v).sum() for v in out["likelihoods"].values())).backward()
    g = m.film.log_scale.grad
    assert g is not None and bool((g[[1, 6]].abs().sum(1) > 0).all()) and float(g[[0, 2, 3, 4, 5, 7]].abs().sum()) == 0


def test_missing_quality_is_a_clear_error():
    m = film_model("mbt2018-mean")
    with pytest.raises(ValueError, match="q"):
        m.synthesis_train(torch.zeros(1, 24, 4, 4), autocast=False)


@pytest.mark.parametrize("arch", learned_architectures())
def test_round_trip_every_architecture(arch):
    m = film_model(arch, seed=1)
    x = torch.rand(1, 3, 33, 47)
    for q in (0, 7, 3.5):
        c = m.compress(x, q)
        x_hat = m.decompress(c["strings"], c["latent"], c["size"], q)
        assert x_hat.shape == x.shape
        assert torch.equal(x_hat, m.decompress(c["strings"], c["latent"], c["size"], q))


def test_stored_and_loaded_with_its_config(tmp_path):
    from fastcodec.train.export import export
    from fastcodec.zoo import load_model, load_weights

    m = film_model("mbt2018-mean", seed=2)
    entry = export(m, "film-test", 10, zoo_dir=tmp_path)
    path = tmp_path / "weights" / entry["file"]
    arch, config, state = load_weights(path)
    assert config.get("film") is True and "film.log_scale" in state
    loaded = load_model(path)
    loaded.bf16_transforms = False
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = m.analyze(x, torch.tensor([4])), loaded.analyze(x, torch.tensor([4]))
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())  # fp16 storage
    assert json.loads(json.dumps(loaded.config())) == m.config()


def test_folded_copies_built_under_inference_mode_are_ordinary_tensors():
    """Coding runs under torch.inference_mode; the C++ layer caches key on tensor versions, which
    inference tensors lack (it failed so on an AVX512-BF16 machine)."""
    m = film_model("mbt2018-mean")
    with torch.inference_mode():
        g_a = m._coding_transform("g_a", torch.tensor([3]))
    assert not any(p.is_inference() for p in g_a.parameters())
    m.bf16_transforms = None  # the machine's own coding path, the C++ bf16 layers where it has them
    c = m.compress(torch.rand(1, 3, 64, 64), 3)
    assert m.decompress(c["strings"], c["latent"], c["size"], 3).shape == (1, 3, 64, 64)


def test_frozen_transforms_keep_their_modulation(tmp_path):
    """Rate-only training of the entropy model (g_a, g_s frozen) must not move the FiLM values."""
    import numpy as np

    from fastcodec.train.data import CropSampler
    from fastcodec.train.loop import train

    class Sampler(CropSampler):
        def __init__(self, images):
            self.images = images

    rng = np.random.default_rng(0)
    m = film_model("mbt2018-mean").train()
    before = m.film.log_scale.detach().clone()
    train(m, Sampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)]), tmp_path, 2, batch_size=8, crop=64,
          freeze=("g_a", "g_s", "gains"), autocast=False)
    assert torch.equal(m.film.log_scale.detach(), before)


def test_coding_follows_new_weights_after_load_state_dict():
    """New weights loaded into a FiLM model code as a fresh model with them would (the folded copies
    are rebuilt, and the C++ layers' packed weights must not be taken for the old copies')."""
    m, other = film_model("mbt2018-mean", seed=3), film_model("mbt2018-mean", seed=4)
    fresh = film_model("mbt2018-mean", seed=4)
    for model in (m, other, fresh):
        model.bf16_transforms = None  # the machine's coding path (the C++ bf16 layers where available)
    x = torch.rand(1, 3, 64, 64)
    for _ in range(3):
        m.compress(x, 2)
        m.load_state_dict(other.state_dict())
        assert m.compress(x, 2)["strings"] == fresh.compress(x, 2)["strings"]
        m.load_state_dict(film_model("mbt2018-mean", seed=3).state_dict())
