"""The transform backend chosen by measurement (fastcodec.models.dispatch): forced and rule modes,
a decision measured once and then read back by every process, noise cannot flip the rule's choice,
and a stream encoded under any backend decodes under every other to the same latents."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import fastcodec
from fastcodec.models import dispatch


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCODEC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FASTCODEC_BACKEND", raising=False)
    dispatch.forget()
    yield tmp_path / "backends.json"
    dispatch.forget()


def _fresh(name="mbt2018-mean"):
    """A model of its own (the API's cached one keeps its decision on the instance)."""
    from fastcodec.zoo import load_model

    return load_model(name)


def test_forced_and_rule_modes(cache, monkeypatch):
    model = _fresh()
    monkeypatch.setenv("FASTCODEC_BACKEND", "fp32")
    assert dispatch.decide(model) == {"backend": "fp32", "source": "FASTCODEC_BACKEND"}
    monkeypatch.setenv("FASTCODEC_BACKEND", "features")
    assert dispatch.decide(model)["backend"] == dispatch.features()
    monkeypatch.setenv("FASTCODEC_BACKEND", "fastest")
    with pytest.raises(RuntimeError, match="FASTCODEC_BACKEND"):
        dispatch.decide(model)
    assert not cache.exists()


def test_measured_once_then_stored(cache, monkeypatch):
    monkeypatch.setattr(dispatch, "candidates", lambda device="cpu": ("fp32", "bf16"))
    monkeypatch.setattr(dispatch, "PROBE", (64, 64))
    monkeypatch.setattr(dispatch, "REPEATS", 1)
    model = _fresh()
    first = dispatch.decide(model)
    assert first["source"] == "measured" and first["backend"] in ("fp32", "bf16")
    assert set(first["ms"]) == {"fp32", "bf16"} and all(t > 0 for t in first["ms"].values())
    stored = json.loads(cache.read_text())
    assert [r["backend"] for r in stored.values()] == [first["backend"]]
    # a new process (here: the in-process decisions forgotten) reads it without timing anything
    dispatch.forget()
    monkeypatch.setattr(dispatch, "measure", lambda *a: pytest.fail("measured again"))
    again = dispatch.decide(_fresh())
    assert again["source"] == "stored" and again["backend"] == first["backend"]


def test_a_corrupt_store_is_measured_again(cache, monkeypatch):
    monkeypatch.setattr(dispatch, "candidates", lambda device="cpu": ("fp32", "bf16"))
    monkeypatch.setattr(dispatch, "measure", lambda model, backend: {"fp32": 2.0, "bf16": 1.0}[backend])
    cache.write_text("{not json")
    assert dispatch.decide(_fresh())["backend"] == "bf16"
    assert len(json.loads(cache.read_text())) == 1


@pytest.mark.parametrize(("times", "expected"), [({"fp32": 1.0, "bf16": 0.97}, "fp32"),
                                                 ({"fp32": 1.0, "bf16": 0.5}, "bf16")])
def test_noise_does_not_replace_the_rule(cache, monkeypatch, times, expected):
    monkeypatch.setattr(dispatch, "candidates", lambda device="cpu": ("fp32", "bf16"))
    monkeypatch.setattr(dispatch, "features", lambda device="cpu": "fp32")
    monkeypatch.setattr(dispatch, "measure", lambda model, backend: times[backend])
    assert dispatch.decide(_fresh())["backend"] == expected


def _backends_here():
    return ["fp32", "bf16"] + (["bf16-native"] if dispatch.native_kernels_supported() else [])


def test_streams_decode_under_every_backend(cache):
    """Encoded under each backend, decoded under each: the same latents (the integer prior decides
    the tables), pixels within the bf16 synthesis' rounding of each other."""
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(128, 40, (64, 96, 3)), 0, 255).astype(np.uint8)
    model = _fresh("mbt2018-mean")
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float().div_(255)
    names = _backends_here()
    for enc in names:
        with model.forced_backend(enc):
            streams = model.compress(x, 4)
        latents, pixels = [], []
        for dec in names:
            with model.forced_backend(dec), torch.inference_mode():
                latents.append(model.latent_codec.decompress(streams["strings"], streams["latent"], model._q(4)))
                pixels.append(model.decompress(streams["strings"], streams["latent"], streams["size"], 4))
        for lat, pix in zip(latents[1:], pixels[1:]):
            assert torch.equal(lat, latents[0]), enc
            mse = float(((pix - pixels[0]) ** 2).mean())
            assert mse < 1e-5, (enc, mse)   # > 50 dB apart


def test_the_same_bytes_in_every_process(cache, tmp_path):
    script = ("import sys, numpy as np, fastcodec; rng = np.random.default_rng(5); "
              "img = np.clip(rng.normal(120, 50, (70, 90, 3)), 0, 255).astype(np.uint8); "
              "sys.stdout.write(fastcodec.load('mbt2018-mean', 4).encode(img).hex())")
    runs = [subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
            for _ in range(2)]
    assert runs[0] and runs[0] == runs[1]


def test_a_forced_backend_holds_in_its_thread_only():
    import threading

    model = _fresh()
    seen = []
    with model.forced_backend("bf16"):
        assert model.backend() == "bf16"
        t = threading.Thread(target=lambda: seen.append(model.backend()))
        t.start()
        t.join()
    assert seen == [dispatch.decide(model)["backend"]] and model.backend() == seen[0]


def test_processes_starting_together_share_one_measurement(cache, tmp_path):
    """Four processes deciding at once (as actors starting together): one measures, the others wait
    for it and read its decision (each process's own timings would differ). A measurement here takes
    4 s, longer than the processes' start-up differs, so without the lock each would measure."""
    script = ("import json, sys, fastcodec.models.dispatch as d, fastcodec.zoo as z; "
              "d.candidates = lambda device='cpu': ('fp32', 'bf16'); import time; "
              "d.measure = lambda m, b: (time.sleep(2), {'fp32': 1.0, 'bf16': 2.0}[b])[1]; "
              "r = d.decide(z.load_model('bmshj2018-hyperprior')); print(json.dumps([r['source'], r['backend']]))")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    results = [json.loads(p.communicate()[0]) for p in procs]
    assert sorted(r[0] for r in results) == ["measured", "stored", "stored", "stored"]
    assert len({r[1] for r in results}) == 1
