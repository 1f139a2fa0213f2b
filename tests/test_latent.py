"""The latent codecs as a layer (fastcodec.latent): a model is a transform pair composed with one, the
latent codec holds no tensors of state_dict(), and the move of the latent coding out of the model
files changed neither the weights files nor a single coded byte. The names, shapes and sha256 below
were captured with the code of commit 8ee8b09, where the latent coding still lived in
fastcodec/models/."""
import ast
import hashlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
from fastcodec.models import build  # noqa: E402

ARCHITECTURES = ["bmshj2018-factorized", "bmshj2018-hyperprior", "he2021-checkerboard", "mbt2018", "mbt2018-mean"]
#: architectures added after that commit, covered by their own tests
NEWER = {"elic2022": "tests/test_elic2022.py", "toderici2017": "tests/test_toderici2017.py"}

# sorted(model.state_dict()) of the shipped models, "name shape"
SHIPPED_STATE = {
    "bmshj2018-factorized": [
        "entropy_bottleneck._bias0 (1536, 3, 1)", "entropy_bottleneck._bias1 (1536, 3, 1)",
        "entropy_bottleneck._bias2 (1536, 3, 1)", "entropy_bottleneck._bias3 (1536, 1, 1)",
        "entropy_bottleneck._factor0 (1536, 3, 1)", "entropy_bottleneck._factor1 (1536, 3, 1)",
        "entropy_bottleneck._factor2 (1536, 3, 1)", "entropy_bottleneck._matrix0 (1536, 3, 1)",
        "entropy_bottleneck._matrix1 (1536, 3, 3)", "entropy_bottleneck._matrix2 (1536, 3, 3)",
        "entropy_bottleneck._matrix3 (1536, 1, 3)", "film.log_scale (8, 768)", "film.shift (8, 768)",
        "g_a.0.bias (128,)", "g_a.0.weight (128, 3, 5, 5)", "g_a.1.beta (128,)", "g_a.1.gamma (128, 128)",
        "g_a.2.bias (128,)", "g_a.2.weight (128, 128, 5, 5)", "g_a.3.beta (128,)", "g_a.3.gamma (128, 128)",
        "g_a.4.bias (128,)", "g_a.4.weight (128, 128, 5, 5)", "g_a.5.beta (128,)", "g_a.5.gamma (128, 128)",
        "g_a.6.bias (192,)", "g_a.6.weight (192, 128, 5, 5)", "g_s.0.bias (128,)",
        "g_s.0.weight (192, 128, 5, 5)", "g_s.1.beta (128,)", "g_s.1.gamma (128, 128)", "g_s.2.bias (128,)",
        "g_s.2.weight (128, 128, 5, 5)", "g_s.3.beta (128,)", "g_s.3.gamma (128, 128)", "g_s.4.bias (128,)",
        "g_s.4.weight (128, 128, 5, 5)", "g_s.5.beta (128,)", "g_s.5.gamma (128, 128)", "g_s.6.bias (3,)",
        "g_s.6.weight (128, 3, 5, 5)", "gains.log_gain (8, 192)", "gains.log_inv_gain (8, 192)",
    ],
    "bmshj2018-hyperprior": [
        "entropy_bottleneck._bias0 (128, 3, 1)", "entropy_bottleneck._bias1 (128, 3, 1)",
        "entropy_bottleneck._bias2 (128, 3, 1)", "entropy_bottleneck._bias3 (128, 1, 1)",
        "entropy_bottleneck._factor0 (128, 3, 1)", "entropy_bottleneck._factor1 (128, 3, 1)",
        "entropy_bottleneck._factor2 (128, 3, 1)", "entropy_bottleneck._matrix0 (128, 3, 1)",
        "entropy_bottleneck._matrix1 (128, 3, 3)", "entropy_bottleneck._matrix2 (128, 3, 3)",
        "entropy_bottleneck._matrix3 (128, 1, 3)", "film.log_scale (8, 768)", "film.shift (8, 768)",
        "g_a.0.bias (128,)", "g_a.0.weight (128, 3, 5, 5)", "g_a.1.beta (128,)", "g_a.1.gamma (128, 128)",
        "g_a.2.bias (128,)", "g_a.2.weight (128, 128, 5, 5)", "g_a.3.beta (128,)", "g_a.3.gamma (128, 128)",
        "g_a.4.bias (128,)", "g_a.4.weight (128, 128, 5, 5)", "g_a.5.beta (128,)", "g_a.5.gamma (128, 128)",
        "g_a.6.bias (192,)", "g_a.6.weight (192, 128, 5, 5)", "g_s.0.bias (128,)",
        "g_s.0.weight (192, 128, 5, 5)", "g_s.1.beta (128,)", "g_s.1.gamma (128, 128)", "g_s.2.bias (128,)",
        "g_s.2.weight (128, 128, 5, 5)", "g_s.3.beta (128,)", "g_s.3.gamma (128, 128)", "g_s.4.bias (128,)",
        "g_s.4.weight (128, 128, 5, 5)", "g_s.5.beta (128,)", "g_s.5.gamma (128, 128)", "g_s.6.bias (3,)",
        "g_s.6.weight (128, 3, 5, 5)", "gains.log_gain (8, 192)", "gains.log_inv_gain (8, 192)",
        "h_a.0.bias (128,)", "h_a.0.weight (128, 192, 3, 3)", "h_a.2.bias (128,)",
        "h_a.2.weight (128, 128, 5, 5)", "h_a.4.bias (128,)", "h_a.4.weight (128, 128, 5, 5)",
        "h_s.0.bias (128,)", "h_s.0.weight (128, 128, 5, 5)", "h_s.2.bias (128,)",
        "h_s.2.weight (128, 128, 5, 5)", "h_s.4.bias (192,)", "h_s.4.weight (192, 128, 3, 3)",
    ],
    "he2021-checkerboard": [
        "context_prediction.bias (384,)", "context_prediction.weight (384, 192, 5, 5)",
        "entropy_bottleneck._bias0 (128, 3, 1)", "entropy_bottleneck._bias1 (128, 3, 1)",
        "entropy_bottleneck._bias2 (128, 3, 1)", "entropy_bottleneck._bias3 (128, 1, 1)",
        "entropy_bottleneck._factor0 (128, 3, 1)", "entropy_bottleneck._factor1 (128, 3, 1)",
        "entropy_bottleneck._factor2 (128, 3, 1)", "entropy_bottleneck._matrix0 (128, 3, 1)",
        "entropy_bottleneck._matrix1 (128, 3, 3)", "entropy_bottleneck._matrix2 (128, 3, 3)",
        "entropy_bottleneck._matrix3 (128, 1, 3)", "entropy_parameters.0.bias (640,)",
        "entropy_parameters.0.weight (640, 768, 1, 1)", "entropy_parameters.2.bias (512,)",
        "entropy_parameters.2.weight (512, 640, 1, 1)", "entropy_parameters.4.bias (384,)",
        "entropy_parameters.4.weight (384, 512, 1, 1)", "film.log_scale (8, 768)", "film.shift (8, 768)",
        "g_a.0.bias (128,)", "g_a.0.weight (128, 3, 5, 5)", "g_a.1.beta (128,)", "g_a.1.gamma (128, 128)",
        "g_a.2.bias (128,)", "g_a.2.weight (128, 128, 5, 5)", "g_a.3.beta (128,)", "g_a.3.gamma (128, 128)",
        "g_a.4.bias (128,)", "g_a.4.weight (128, 128, 5, 5)", "g_a.5.beta (128,)", "g_a.5.gamma (128, 128)",
        "g_a.6.bias (192,)", "g_a.6.weight (192, 128, 5, 5)", "g_s.0.bias (128,)",
        "g_s.0.weight (192, 128, 5, 5)", "g_s.1.beta (128,)", "g_s.1.gamma (128, 128)", "g_s.2.bias (128,)",
        "g_s.2.weight (128, 128, 5, 5)", "g_s.3.beta (128,)", "g_s.3.gamma (128, 128)", "g_s.4.bias (128,)",
        "g_s.4.weight (128, 128, 5, 5)", "g_s.5.beta (128,)", "g_s.5.gamma (128, 128)", "g_s.6.bias (3,)",
        "g_s.6.weight (128, 3, 5, 5)", "gains.log_gain (8, 192)", "gains.log_inv_gain (8, 192)",
        "h_a.0.bias (128,)", "h_a.0.weight (128, 192, 3, 3)", "h_a.2.bias (128,)",
        "h_a.2.weight (128, 128, 5, 5)", "h_a.4.bias (128,)", "h_a.4.weight (128, 128, 5, 5)",
        "h_s.0.bias (192,)", "h_s.0.weight (128, 192, 5, 5)", "h_s.2.bias (288,)",
        "h_s.2.weight (192, 288, 5, 5)", "h_s.4.bias (384,)", "h_s.4.weight (384, 288, 3, 3)",
    ],
    "mbt2018": [
        "context_prediction.bias (384,)", "context_prediction.weight (384, 192, 5, 5)",
        "entropy_bottleneck._bias0 (128, 3, 1)", "entropy_bottleneck._bias1 (128, 3, 1)",
        "entropy_bottleneck._bias2 (128, 3, 1)", "entropy_bottleneck._bias3 (128, 1, 1)",
        "entropy_bottleneck._factor0 (128, 3, 1)", "entropy_bottleneck._factor1 (128, 3, 1)",
        "entropy_bottleneck._factor2 (128, 3, 1)", "entropy_bottleneck._matrix0 (128, 3, 1)",
        "entropy_bottleneck._matrix1 (128, 3, 3)", "entropy_bottleneck._matrix2 (128, 3, 3)",
        "entropy_bottleneck._matrix3 (128, 1, 3)", "entropy_parameters.0.bias (640,)",
        "entropy_parameters.0.weight (640, 768, 1, 1)", "entropy_parameters.2.bias (512,)",
        "entropy_parameters.2.weight (512, 640, 1, 1)", "entropy_parameters.4.bias (384,)",
        "entropy_parameters.4.weight (384, 512, 1, 1)", "film.log_scale (8, 768)", "film.shift (8, 768)",
        "g_a.0.bias (128,)", "g_a.0.weight (128, 3, 5, 5)", "g_a.1.beta (128,)", "g_a.1.gamma (128, 128)",
        "g_a.2.bias (128,)", "g_a.2.weight (128, 128, 5, 5)", "g_a.3.beta (128,)", "g_a.3.gamma (128, 128)",
        "g_a.4.bias (128,)", "g_a.4.weight (128, 128, 5, 5)", "g_a.5.beta (128,)", "g_a.5.gamma (128, 128)",
        "g_a.6.bias (192,)", "g_a.6.weight (192, 128, 5, 5)", "g_s.0.bias (128,)",
        "g_s.0.weight (192, 128, 5, 5)", "g_s.1.beta (128,)", "g_s.1.gamma (128, 128)", "g_s.2.bias (128,)",
        "g_s.2.weight (128, 128, 5, 5)", "g_s.3.beta (128,)", "g_s.3.gamma (128, 128)", "g_s.4.bias (128,)",
        "g_s.4.weight (128, 128, 5, 5)", "g_s.5.beta (128,)", "g_s.5.gamma (128, 128)", "g_s.6.bias (3,)",
        "g_s.6.weight (128, 3, 5, 5)", "gains.log_gain (8, 192)", "gains.log_inv_gain (8, 192)",
        "h_a.0.bias (128,)", "h_a.0.weight (128, 192, 3, 3)", "h_a.2.bias (128,)",
        "h_a.2.weight (128, 128, 5, 5)", "h_a.4.bias (128,)", "h_a.4.weight (128, 128, 5, 5)",
        "h_s.0.bias (192,)", "h_s.0.weight (128, 192, 5, 5)", "h_s.2.bias (288,)",
        "h_s.2.weight (192, 288, 5, 5)", "h_s.4.bias (384,)", "h_s.4.weight (384, 288, 3, 3)",
    ],
    "mbt2018-mean": [
        "entropy_bottleneck._bias0 (128, 3, 1)", "entropy_bottleneck._bias1 (128, 3, 1)",
        "entropy_bottleneck._bias2 (128, 3, 1)", "entropy_bottleneck._bias3 (128, 1, 1)",
        "entropy_bottleneck._factor0 (128, 3, 1)", "entropy_bottleneck._factor1 (128, 3, 1)",
        "entropy_bottleneck._factor2 (128, 3, 1)", "entropy_bottleneck._matrix0 (128, 3, 1)",
        "entropy_bottleneck._matrix1 (128, 3, 3)", "entropy_bottleneck._matrix2 (128, 3, 3)",
        "entropy_bottleneck._matrix3 (128, 1, 3)", "film.log_scale (8, 768)", "film.shift (8, 768)",
        "g_a.0.bias (128,)", "g_a.0.weight (128, 3, 5, 5)", "g_a.1.beta (128,)", "g_a.1.gamma (128, 128)",
        "g_a.2.bias (128,)", "g_a.2.weight (128, 128, 5, 5)", "g_a.3.beta (128,)", "g_a.3.gamma (128, 128)",
        "g_a.4.bias (128,)", "g_a.4.weight (128, 128, 5, 5)", "g_a.5.beta (128,)", "g_a.5.gamma (128, 128)",
        "g_a.6.bias (192,)", "g_a.6.weight (192, 128, 5, 5)", "g_s.0.bias (128,)",
        "g_s.0.weight (192, 128, 5, 5)", "g_s.1.beta (128,)", "g_s.1.gamma (128, 128)", "g_s.2.bias (128,)",
        "g_s.2.weight (128, 128, 5, 5)", "g_s.3.beta (128,)", "g_s.3.gamma (128, 128)", "g_s.4.bias (128,)",
        "g_s.4.weight (128, 128, 5, 5)", "g_s.5.beta (128,)", "g_s.5.gamma (128, 128)", "g_s.6.bias (3,)",
        "g_s.6.weight (128, 3, 5, 5)", "gains.log_gain (8, 192)", "gains.log_inv_gain (8, 192)",
        "h_a.0.bias (128,)", "h_a.0.weight (128, 192, 3, 3)", "h_a.2.bias (128,)",
        "h_a.2.weight (128, 128, 5, 5)", "h_a.4.bias (128,)", "h_a.4.weight (128, 128, 5, 5)",
        "h_s.0.bias (192,)", "h_s.0.weight (128, 192, 5, 5)", "h_s.2.bias (288,)",
        "h_s.2.weight (192, 288, 5, 5)", "h_s.4.bias (384,)", "h_s.4.weight (384, 288, 3, 3)",
    ],
}

SAMPLE_SHA256 = {
    "bmshj2018-factorized q1": "c4dc2d6a341131622c8014aa41dfef13b05fe6d80368f7ada9136286f2b862a9",
    "bmshj2018-factorized q3": "aab9385080054fc8b14a56bb9da5a0d24a83726796b8cdbfc0d0ecb17a41bde3",
    "bmshj2018-factorized q8": "7ff62306133919c611af84640c326ef5715507062144a5f22ac890e2b402b7f8",
    "bmshj2018-hyperprior q1": "99040c857e9c01a542c35b170f8f92c24432542bfd23580eced8953c6f871d68",
    "bmshj2018-hyperprior q3": "97e492fa10f3bc17c6b83eb08f080486f15ccb0debf950c9976978e726fd715f",
    "bmshj2018-hyperprior q8": "d22dea12ab93c2e13736484f289d848564d82e10c4ec512e27e38923744f5377",
    "he2021-checkerboard q1": "1005655c2a730ea58df90709a7cf8a3645c7210eaedc3282d78fc10f2b041485",
    "he2021-checkerboard q3": "3b137d984bd911e10577a3973f0cbde7d6ace3b38269122d4e5d5df793909663",
    "he2021-checkerboard q8": "4b784938c0653338800a9237c22d6ce9aa241caffcece279d2383aa08b57171a",
    "mbt2018 q1": "5e93c44ebd9c402226d5cbd33dddc27addc6706b6b3cdc93a773c10069248c42",
    "mbt2018 q3": "e44322840f1e20a9a8c28436969f8e025f94306e996e03972aa6db4800438a02",
    "mbt2018 q8": "1096e08427269f405e3423e0a188db5e8ed681e712b7be6399419b869bcf035b",
    "mbt2018-mean q1": "11334b2fb1c5dcb78b15412e03a3e9db50310795250bffa422890fc3165c7517",
    "mbt2018-mean q3": "ed76546d616c28a9c8e767fade7d9e049421c5a1e53dc9e46b68ab7a96c0352a",
    "mbt2018-mean q8": "0693f6038ddbafbdf6f2e4260d318c9c212b91cbd1d8a508b02caa7c5226dcd2",
}

FLOAT_PATH_SHA256 = {
    "bmshj2018-factorized q0": [
        "6b8bbe0e9928f725ce458ecf637ecc51f9f219bf44f37aadb899e5e4392ef80d",
    ],
    "bmshj2018-factorized q5": [
        "dd9d98f17176df62dcce0aece45d298e967f796cce99dde154e890ec0aa0ac1a",
    ],
    "bmshj2018-hyperprior q0": [
        "a79f163c9e3c26fb19662db3671e9b3b42ef2d0cdf8a7701d911ed1ee9ba5e97",
        "56949c4c6bdff2cf5ca84f899630a09ab4ab207623b15300f5f27fafc0ab3cf0",
    ],
    "bmshj2018-hyperprior q5": [
        "a79f163c9e3c26fb19662db3671e9b3b42ef2d0cdf8a7701d911ed1ee9ba5e97",
        "56949c4c6bdff2cf5ca84f899630a09ab4ab207623b15300f5f27fafc0ab3cf0",
    ],
    "he2021-checkerboard q0": [
        "e71041c547f0c286c4322579a88acab2ba98cfc52eeb7382b84a062280f91440",
        "15fad065dc09e6fed1d63faf159be2151cbc758a903d5d1ecbabef3756435a0e",
    ],
    "he2021-checkerboard q5": [
        "e71041c547f0c286c4322579a88acab2ba98cfc52eeb7382b84a062280f91440",
        "15fad065dc09e6fed1d63faf159be2151cbc758a903d5d1ecbabef3756435a0e",
    ],
    "mbt2018 q0": [
        "e71041c547f0c286c4322579a88acab2ba98cfc52eeb7382b84a062280f91440",
        "d4c794c7c428421a83e51a6883d90b16df62307b1223cf95003b98082fbacb35",
    ],
    "mbt2018 q5": [
        "e71041c547f0c286c4322579a88acab2ba98cfc52eeb7382b84a062280f91440",
        "d4c794c7c428421a83e51a6883d90b16df62307b1223cf95003b98082fbacb35",
    ],
    "mbt2018-mean q0": [
        "4c89fee555a050c168847c2ef088dbccb8e90cd31645774117d403fe060967fd",
        "56949c4c6bdff2cf5ca84f899630a09ab4ab207623b15300f5f27fafc0ab3cf0",
    ],
    "mbt2018-mean q5": [
        "4c89fee555a050c168847c2ef088dbccb8e90cd31645774117d403fe060967fd",
        "56949c4c6bdff2cf5ca84f899630a09ab4ab207623b15300f5f27fafc0ab3cf0",
    ],
}


@pytest.fixture
def float32_transforms(monkeypatch):
    """The bytes were captured with float32 transforms (bf16 ones may round y differently)."""
    from fastcodec.models.base import LearnedCodec

    monkeypatch.setattr(LearnedCodec, "bf16_transforms", False)


def _names_and_shapes(model):
    return [f"{k} {tuple(v.shape)}" for k, v in sorted(model.state_dict().items())]


def test_every_architecture_of_the_package_is_covered():
    from fastcodec.models import architecture, architectures

    own = [a for a in architectures() if architecture(a).__module__.startswith("fastcodec.models.")]
    assert own == sorted(ARCHITECTURES + list(NEWER))
    assert all(Path(__file__).parent.parent.joinpath(f).is_file() for f in NEWER.values())   # (tests may register others)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_state_dict_names_and_shapes_are_unchanged(arch):
    config = {"film": True, **({"density_per_quality": True} if arch == "bmshj2018-factorized" else {})}
    assert _names_and_shapes(build(arch, **config)) == SHIPPED_STATE[arch]
    # the default build: the same names without the modulation (film) of the shipped ones
    names = [k for k in sorted(build(arch).state_dict())]
    assert names == [e.split(" ")[0] for e in SHIPPED_STATE[arch] if not e.startswith("film.")]
    if arch in fastcodec.list_models():
        from fastcodec.zoo import load_model

        assert _names_and_shapes(load_model(arch)) == SHIPPED_STATE[arch]  # the file loads strictly


def _sample():
    from PIL import Image

    from fastcodec.cli.demo import SAMPLE

    return np.ascontiguousarray(np.asarray(Image.open(SAMPLE).convert("RGB"))[:128, :192])


@pytest.mark.parametrize("key", sorted(SAMPLE_SHA256))
def test_shipped_models_code_the_sample_to_the_same_bytes(key, float32_transforms):
    arch, q = key.split(" q")
    if arch not in fastcodec.list_models():
        pytest.skip(f"{arch} is not shipped")
    blob = fastcodec.load(arch, int(q)).encode(_sample())
    assert hashlib.sha256(blob).hexdigest() == SAMPLE_SHA256[key]
    assert fastcodec.decode(blob).shape == (128, 192, 3)


@pytest.mark.parametrize("key", sorted(FLOAT_PATH_SHA256))
def test_float_paths_code_to_the_same_bytes(key, float32_transforms):
    """Fresh float weights: the float prior of the hyperprior codecs and the float loops of the context
    codecs (the shipped context models code through the integer path)."""
    arch, q = key.split(" q")
    torch.manual_seed(0)
    kwargs = {"density_per_quality": True} if arch == "bmshj2018-factorized" else {}
    model = build(arch, N=16, M=24, **kwargs).eval()
    assert getattr(model, "int_h_s", None) is None and getattr(model, "int_context", None) is None
    x = torch.rand(1, 3, 70, 100, generator=torch.Generator().manual_seed(1))
    c = model.compress(x, int(q))
    assert [hashlib.sha256(s).hexdigest() for s in c["strings"]] == FLOAT_PATH_SHA256[key]
    assert model.decompress(c["strings"], c["latent"], c["size"], int(q)).shape == x.shape


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_latent_codec_is_not_a_submodule(arch):
    torch.manual_seed(0)
    model = build(arch, N=8, M=12)
    codec = model.latent_codec
    assert not isinstance(codec, torch.nn.Module)
    assert all(m is not codec for m in model.modules())
    assert codec.owner is model
    assert model.streams == codec.streams
    before = _names_and_shapes(model)
    model.eval().compress(torch.rand(1, 3, 64, 64), 2)   # builds tables: outside state_dict()
    assert _names_and_shapes(model) == before


def test_a_replaced_module_is_the_one_the_latent_codec_uses():
    torch.manual_seed(0)
    model = build("bmshj2018-factorized", N=8, M=12).eval()
    assert model.latent_codec.sets == 1 and model.factorized_coder().channels == 12
    model.expand_density_per_quality()
    assert model.latent_codec.bottleneck is model.entropy_bottleneck
    assert model.latent_codec.sets == 8 and model.density_index(5.2) == 5
    assert model.factorized_coder().channels == 8 * 12   # the tables of the shared density are gone
    c = model.compress(torch.rand(1, 3, 32, 48), 5)
    assert model.decompress(c["strings"], c["latent"], c["size"], 5).shape == (1, 3, 32, 48)


def test_loading_weights_forgets_the_tables_and_integer_networks_of_the_previous_ones():
    torch.manual_seed(0)
    model = build("mbt2018", N=8, M=12).eval()
    model.factorized_coder()
    assert "entropy_bottleneck" in model._coders
    model.latent_codec.int_h_s = object()
    model.load_state_dict(model.state_dict())
    assert model._coders == {} and model.int_h_s is None and model.int_context is None


def _tiny_pair(n, m):
    """A transform pair other than the shipped GDN one: plain ReLU convolutions, same strides."""
    from torch import nn

    from fastcodec.layers import conv, deconv

    g_a = nn.Sequential(conv(3, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, m))
    g_s = nn.Sequential(deconv(m, n), nn.ReLU(), deconv(n, n), nn.ReLU(), deconv(n, n), nn.ReLU(), deconv(n, 3))
    return g_a, g_s


def _relu_hyperprior_model(mean_scale):
    from torch import nn

    from fastcodec.entropy.factorized import EntropyBottleneck
    from fastcodec.latent import HyperpriorLatent
    from fastcodec.layers import conv, deconv
    from fastcodec.models.base import LearnedCodec
    from fastcodec.models.transforms import hyper_analysis, mean_scale_hyper_synthesis

    class ReluHyperprior(LearnedCodec):
        name = "test-relu-hyperprior"

        def __init__(self, N=8, M=12):
            super().__init__(N, M)
            self.g_a, self.g_s = _tiny_pair(N, M)
            self.h_a = hyper_analysis(N, M)
            self.h_s = mean_scale_hyper_synthesis(N, M) if mean_scale else nn.Sequential(
                deconv(N, N), nn.ReLU(), deconv(N, N), nn.ReLU(), conv(N, M, 3, 1), nn.ReLU())
            self.entropy_bottleneck = EntropyBottleneck(N)
            self.latent_codec = HyperpriorLatent(self, mean_scale=mean_scale)

    return ReluHyperprior


@pytest.mark.parametrize("mean_scale", [True, False])
def test_new_transforms_compose_with_the_hyperprior_latent_codec(mean_scale):
    """What the issue asks of the layer: the hyperprior latent codec reused with other transforms
    codes, trains, freezes its prior into integers and ships that state like the shipped models."""
    cls = _relu_hyperprior_model(mean_scale)
    torch.manual_seed(0)
    model = cls().eval()
    with torch.no_grad():   # latents of a few units, as trained ones are (fresh ones round to 0)
        model.g_a[-1].weight.mul_(300)
        model.h_a[-1].weight.mul_(10)
    x = torch.rand(1, 3, 64, 128)
    q = model._q(3)
    with torch.inference_mode():
        y, z = model.encode_latents(x, q)
        strings = model.code_latents(y, z, q)
        params = model.prior(torch.round(z))
        scales, means = params.chunk(2, 1) if mean_scale else (params, None)
        expected = torch.round(y) if means is None else torch.round(y - means) + means
        assert torch.equal(model.latent_codec.decompress(strings, y.shape[2:]), expected)
    assert len(strings) == 2 and model.stream_names(3) == ["z", "y"]

    out = model.train()(x, torch.tensor([3]))
    assert out["x_hat"].shape == x.shape and set(out["likelihoods"]) == {"y", "z"}
    model.eval()

    model.freeze_prior([z])
    assert model.int_h_s is not None
    blob = model.compress(x, 3)["strings"]
    twin = cls().eval()
    twin.load_state_dict(model.state_dict())
    twin.load_extra_state(model.extra_state())
    assert twin.int_h_s is not None and twin.compress(x, 3)["strings"] == blob
    assert torch.equal(twin.decompress(blob, (4, 8), (64, 128), 3), model.decompress(blob, (4, 8), (64, 128), 3))


LATENT_MAY_IMPORT = ("fastcodec.latent", "fastcodec.layers", "fastcodec.entropy", "fastcodec.integer",
                     "fastcodec.functional", "fastcodec.coding", "fastcodec.bitstream", "fastcodec.errors")


def test_the_latent_layer_imports_nothing_above_it():
    """fastcodec.latent sits under models (docs/architecture.md); lint-imports checks it too."""
    import fastcodec.latent

    for path in Path(fastcodec.latent.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.module != "fastcodec" else [f"fastcodec.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("fastcodec"):
                    assert name.startswith(LATENT_MAY_IMPORT), f"{path.name} imports {name}"
