"""Every architecture: training forward shapes, and compress/decompress reproducing the encoder's
reconstruction exactly, for any image size."""
import pytest

torch = pytest.importorskip("torch")

from conftest import learned_architectures  # noqa: E402
from fastcodec.models import build  # noqa: E402



@pytest.fixture(scope="module", params=learned_architectures())
def model(request):
    torch.manual_seed(0)
    m = build(request.param, N=16, M=24)
    # make the latents non-trivial: random weights give near-zero y
    with torch.no_grad():
        m.gains.log_gain.add_(2.0)
        m.gains.log_inv_gain.sub_(2.0)
    return m


def test_training_forward(model):
    model.train()
    x = torch.rand(3, 3, 64, 64)
    out = model(x, torch.tensor([0, 3, 7]), autocast=True)
    assert out["x_hat"].shape == x.shape and out["x_hat"].dtype == torch.float32
    for lik in out["likelihoods"].values():
        assert lik.dtype == torch.float32 and bool(((lik > 0) & (lik <= 1)).all())
    loss = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values()) + out["x_hat"].square().mean()
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "gains" not in n)


def test_training_synthesis_matches_plain_g_s_with_gradients():
    """synthesis_train's sub-pixel last layer is the transposed convolution: same output and the
    same gradients for the last layer's weight and bias and for the input (float32)."""
    torch.manual_seed(3)
    m = build("mbt2018-mean", N=16, M=24)
    y = torch.randn(2, 24, 5, 7)
    results = []
    for form in ("plain", "train"):
        m.zero_grad()
        yy = y.clone().requires_grad_()
        out = m.g_s(yy) if form == "plain" else m.synthesis_train(yy, autocast=False)
        out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(4)))
        last = m.g_s[-1]
        results.append((out.detach(), yy.grad, last.weight.grad.clone(), last.bias.grad.clone(),
                        m.g_s[0].weight.grad.clone()))
    for a, b in zip(*results):  # sums of ~10^4 terms in another order: compare relative to the norm
        assert a.shape == b.shape
        assert float((a - b).norm() / a.norm()) < 1e-5


@pytest.mark.parametrize("size", [(1, 1), (17, 31), (64, 64), (70, 129)])
def test_compress_decompress_round_trip(model, size):
    torch.manual_seed(1)
    x = torch.rand(1, 3, *size)
    for q in (0, 7, 3.5):
        c = model.compress(x, q)
        assert all(isinstance(s, bytes) and len(s) > 0 for s in c["strings"])
        x_hat = model.decompress(c["strings"], c["latent"], c["size"], q)
        assert x_hat.shape == x.shape
        # decoding twice gives the same pixels (the decoder reproduces the encoder's latents)
        again = model.decompress(c["strings"], c["latent"], c["size"], q)
        assert torch.equal(x_hat, again)


def test_decoded_latents_equal_encoder_latents():
    """For the mean-scale model, decoding recovers exactly round(y - mean) + mean of the encoder."""
    from fastcodec.entropy.coders import GaussianCoder

    torch.manual_seed(0)
    m = build("mbt2018-mean", N=16, M=24).eval()
    x = torch.rand(1, 3, 64, 64)
    q = torch.tensor([7])
    with torch.no_grad():
        y = m.g_a(x) * m.gains.gain(q) * 20
        z = m.h_a(y)
        scales, means = m.h_s(torch.round(z)).chunk(2, 1)
        data = GaussianCoder.encode(y, scales, means)
        y_hat = GaussianCoder.decode(data, scales, means)
    torch.testing.assert_close(y_hat, torch.round(y - means) + means, atol=0, rtol=0)


def test_compress_rejects_bad_shapes():
    m = build("mbt2018-mean", N=8, M=12)
    with pytest.raises(ValueError, match=r"x must have shape \[1, 3, H, W\]"):
        m.compress(torch.rand(2, 3, 16, 16), 0)


def test_mbt2018_wavefront_order_is_causal():
    """Every position the type-A mask lets (h, w) see has a smaller wavefront index t = 3h + w."""
    from fastcodec.layers.masked_conv import raster_mask

    mask = raster_mask(5)
    for dy, dx in torch.nonzero(mask).tolist():
        dh, dw = dy - 2, dx - 2
        assert 3 * dh + dw < 0, (dh, dw)


@pytest.mark.parametrize("arch", ["bmshj2018-hyperprior", "mbt2018-mean", "mbt2018", "he2021-checkerboard"])
def test_encoder_and_decoder_feed_the_prior_identical_tensors(arch, monkeypatch):
    """The prior path picks the tables: its inputs (values, dtype and memory layout) must be the
    same on both sides, or float results differ in the last bits and the decoder desynchronizes."""
    from fastcodec.latent.hyperprior import HyperpriorLatent

    seen = []
    original = HyperpriorLatent.prior

    def recording_prior(self, z_hat):
        out = original(self, z_hat)
        seen.append((z_hat.detach().clone(), out.detach().clone(), out.stride()))
        return out

    monkeypatch.setattr(HyperpriorLatent, "prior", recording_prior)  # the latent codec's prior path
    torch.manual_seed(0)
    m = build(arch, N=16, M=24)
    c = m.compress(torch.rand(1, 3, 64, 96).contiguous(memory_format=torch.channels_last), 5)
    m.decompress(c["strings"], c["latent"], c["size"], 5)
    (z_enc, p_enc, s_enc), (z_dec, p_dec, s_dec) = seen
    assert torch.equal(z_enc, z_dec) and s_enc == s_dec
    assert torch.equal(p_enc, p_dec)  # bit-identical table parameters


def test_shipped_model_round_trips_the_sample_at_every_quality():
    import numpy as np
    from PIL import Image

    import fastcodec
    from fastcodec.cli.demo import SAMPLE

    if not fastcodec.list_models():
        pytest.skip("no shipped model")
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    for name in fastcodec.list_models():
        for q in (1, 4.5, 8):
            out = fastcodec.decode(fastcodec.load(name, q).encode(image))
            assert out.shape == image.shape


def test_factorized_density_per_quality_codes_and_round_trips():
    from fastcodec.models import build

    torch.manual_seed(0)
    shared = build("bmshj2018-factorized", N=8, M=12).eval()
    model = build("bmshj2018-factorized", N=8, M=12).eval()
    model.load_state_dict(shared.state_dict())
    model.expand_density_per_quality()
    assert model.entropy_bottleneck.channels == 12 * 8 and model.config()["density_per_quality"]
    x = torch.rand(1, 3, 40, 56)
    y = torch.round(torch.randn(3, 12, 4, 4) * 3)
    # copies of one density: the same likelihoods for every quality, as the shared model's
    torch.testing.assert_close(model.y_likelihood(y, torch.tensor([0, 3, 7])), shared.y_likelihood(y, 0))
    with torch.no_grad():   # quality 8's density differs from now on
        model.entropy_bottleneck._bias3[7 * 12:].add_(1.0)
    assert not torch.allclose(model.y_likelihood(y[:1], 7), model.y_likelihood(y[:1], 0))
    for q in (0, 7, 3.4):
        c = model.compress(x, q)
        out = model.decompress(c["strings"], c["latent"], c["size"], q)
        assert out.shape == x.shape
    assert model.density_index(3.4) == 3 and model.density_index(3.6) == 4 and model.density_index(9) == 7
    c7, c0 = model.compress(x, 7), model.compress(x, 0)
    assert c7["strings"] != c0["strings"]
