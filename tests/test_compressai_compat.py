"""CompressAI weights in fastcodec and back (fastcodec.models.compressai_compat).

CI has no CompressAI (its torchvision does not import beside the CPU torch, BENCHMARKS.md), so the
first tests run the converter on state_dicts of CompressAI's real layout, every key with its shape
and dtype as CompressAI 1.2.8 saves them (tests/compressai_layout.json, written by
tests/make_compressai_layout.py), filled with random values, and check the folding of the gains
within fastcodec. The last two compare outputs with CompressAI's own models where it is installed."""
import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fastcodec.models import build  # noqa: E402
from fastcodec.models.compressai_compat import from_compressai_state_dict, to_compressai_state_dict  # noqa: E402

LAYOUT = json.loads((Path(__file__).resolve().parent / "compressai_layout.json").read_text())
ARCHS = sorted(LAYOUT["models"])
#: CompressAI's buffers and derived tensors: rebuilt by fastcodec (coding tables, masks, bounds),
#: never carried over
BUFFER = re.compile(r"(_reparam\.|^entropy_bottleneck\.(quantiles|_offset|_quantized_cdf|_cdf_length|target)$|"
                    r"\.likelihood_lower_bound\.bound$|^gaussian_conditional\.|^context_prediction\.mask$)")


def fastcodec_name(key):
    """The fastcodec name of a CompressAI parameter: the entropy bottleneck's lists become
    numbered attributes, everything else keeps CompressAI's name."""
    m = re.match(r"^entropy_bottleneck\.(matrices|biases|factors)\.(\d+)$", key)
    if m:
        return f"entropy_bottleneck._{ {'matrices': 'matrix', 'biases': 'bias', 'factors': 'factor'}[m.group(1)] }{m.group(2)}"
    return key


def synthetic_state_dict(arch, seed=0):
    """A state_dict of CompressAI's layout for `arch`, random values of the right shapes and dtypes
    (GDN parameters positive, as CompressAI's reparametrization keeps them)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, spec in LAYOUT["models"][arch].items():
        dtype = getattr(torch, spec["dtype"])
        if not dtype.is_floating_point:
            state[key] = torch.randint(0, 100, spec["shape"], generator=gen, dtype=dtype)
        elif re.search(r"\.(beta|gamma)$", key):
            state[key] = 0.5 + 0.5 * torch.rand(spec["shape"], generator=gen)
        else:
            state[key] = 0.05 * torch.randn(spec["shape"], generator=gen)
    return state


def test_layout_covers_the_converted_architectures():
    assert LAYOUT["compressai"] == "1.2.8"
    assert ARCHS == ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018", "mbt2018-mean"]


@pytest.mark.parametrize("arch", ARCHS)
def test_every_compressai_parameter_lands_in_the_fastcodec_model(arch):
    theirs = synthetic_state_dict(arch)
    ours = from_compressai_state_dict(theirs, arch)
    own = ours.state_dict()
    params = {k: v for k, v in theirs.items() if not BUFFER.search(k)}
    assert params, arch
    for key, value in params.items():
        assert torch.equal(own[fastcodec_name(key)], value.float()), key
    # every float weight of the fastcodec model came from CompressAI's, apart from the identity gains
    theirs_named = {fastcodec_name(k) for k in params}
    left = [k for k in ours.state_dict() if k not in theirs_named and not k.startswith("gains.")]
    assert not left, left
    assert torch.count_nonzero(own["gains.log_gain"]) == 0 and torch.count_nonzero(own["gains.log_inv_gain"]) == 0
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = ours(x, torch.tensor([0]))["x_hat"]
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_converted_weights_go_back_to_compressai_unchanged(arch):
    """to_compressai_state_dict of a converted model gives every CompressAI parameter back, same
    name, shape and value (identity gains fold to nothing)."""
    theirs = synthetic_state_dict(arch)
    back = to_compressai_state_dict(from_compressai_state_dict(theirs, arch), quality=1)
    params = {k: v for k, v in theirs.items() if not BUFFER.search(k)}
    assert sorted(back) == sorted(params)
    for key, value in params.items():
        assert torch.equal(back[key], value), key


def test_a_state_dict_of_another_architecture_is_refused():
    with pytest.raises(ValueError, match="not a CompressAI mbt2018 state_dict"):
        from_compressai_state_dict(synthetic_state_dict("bmshj2018-hyperprior"), "mbt2018")


@pytest.mark.parametrize("arch", ["bmshj2018-hyperprior", "mbt2018-mean", "bmshj2018-factorized"])
def test_folded_gains_code_as_the_quality_they_came_from(arch):
    """A fastcodec model at quality 6 and its weights folded for CompressAI (gains inside g_a's last
    and g_s's first convolution) and brought back with identity gains give the same latents, the
    same synthesis of them and the same image."""
    torch.manual_seed(0)
    ours = build(arch, N=32, M=48, eb_filters=(3, 3, 3, 3)).eval()
    if arch == "bmshj2018-factorized":
        ours = ours.expand_density_per_quality().eval()
    with torch.no_grad():
        ours.gains.log_gain.normal_(0, 0.5)
        ours.gains.log_inv_gain.copy_(-ours.gains.log_gain + 0.1 * torch.randn_like(ours.gains.log_gain))
    back = from_compressai_state_dict(to_compressai_state_dict(ours, quality=6), arch)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    q0, q5 = torch.tensor([0]), torch.tensor([5])
    with torch.no_grad():
        y = ours.analysis_train(x, q5, False)
        torch.testing.assert_close(back.analysis_train(x, q0, False), y, atol=1e-5, rtol=1e-5)
        # a latent of the size coded ones have (this random g_a's y would round to almost all zeros)
        y_hat = torch.round(4 * torch.randn(1, 48, 4, 4, generator=torch.Generator().manual_seed(3)))
        torch.testing.assert_close(back.g_s[0](y_hat), ours.g_s[0](y_hat * ours.gains.inv_gain(q5)),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(back.synthesis_train(y_hat, False, q0),
                                   ours.synthesis_train(y_hat * ours.gains.inv_gain(q5), False, q5), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(back(x, q0)["x_hat"], ours(x, q5)["x_hat"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", ["bmshj2018-hyperprior", "mbt2018-mean"])
def test_folded_film_codes_as_the_quality_it_came_from(arch):
    """The shipped weights modulate their transforms per quality (FiLM): folded for CompressAI, the
    quality's modulation lands in the convolutions and no film.* tensor is left over."""
    torch.manual_seed(0)
    ours = build(arch, N=32, M=48, eb_filters=(3, 3, 3, 3), film=True).eval()
    with torch.no_grad():
        for p in ours.film.parameters():
            p.normal_(0, 0.3)
    folded = to_compressai_state_dict(ours, quality=6)
    assert not [k for k in folded if k.startswith("film.")]
    back = from_compressai_state_dict(folded, arch)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    q0, q5 = torch.tensor([0]), torch.tensor([5])
    with torch.no_grad():
        y = ours.analysis_train(x, q5, False)
        assert float((y - ours.analysis_train(x, q0, False)).abs().max()) > 1e-3   # FiLM does change g_a
        torch.testing.assert_close(back.analysis_train(x, q0, False), y, atol=1e-4, rtol=1e-4)
        y_hat = torch.round(4 * torch.randn(1, 48, 4, 4, generator=torch.Generator().manual_seed(3)))
        torch.testing.assert_close(back.synthesis_train(y_hat, False, q0),
                                   ours.synthesis_train(y_hat * ours.gains.inv_gain(q5), False, q5), atol=1e-4, rtol=1e-4)


PAIRS = ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018"]


@pytest.fixture(scope="module")
def compressai_zoo():
    return pytest.importorskip("compressai.zoo")


@pytest.mark.parametrize("arch", PAIRS)
def test_compressai_weights_run_in_fastcodec(arch, compressai_zoo):
    torch.manual_seed(0)
    theirs = getattr(compressai_zoo, arch.replace("-", "_"))(quality=1, pretrained=False).eval()
    ours = from_compressai_state_dict(theirs.state_dict(), arch)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ref = theirs(x)["x_hat"]
        out = ours(x, torch.tensor([0]))["x_hat"]
    if arch == "mbt2018":  # CompressAI's training-style forward rounds the context input differently
        assert out.shape == ref.shape
    else:
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    c = ours.compress(x, 0)
    assert ours.decompress(c["strings"], c["latent"], c["size"], 0).shape == x.shape


@pytest.mark.parametrize("arch", PAIRS[1:3])
def test_fastcodec_weights_run_in_compressai(arch, compressai_zoo):
    torch.manual_seed(0)
    ours = build(arch, N=128, M=192, eb_filters=(3, 3, 3, 3)).eval()
    theirs = getattr(compressai_zoo, arch.replace("-", "_"))(quality=1, pretrained=False).eval()
    state = theirs.state_dict()
    state.update(to_compressai_state_dict(ours, quality=6))
    theirs.load_state_dict(state)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x)["x_hat"], ours(x, torch.tensor([5]))["x_hat"], atol=1e-4, rtol=1e-4)
