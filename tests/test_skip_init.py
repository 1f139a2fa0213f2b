"""Models built without torch's random fills (fastcodec.zoo.skip_init) load to exactly the weights and
bytes of a plainly built model; the fills are skipped only inside the block and only in its thread."""
import threading

import numpy as np
import pytest
import torch

from fastcodec.models import build
from fastcodec.zoo import _resolve, load_model, load_weights
from fastcodec.zoo.skip_init import skip_init


def test_loaded_models_are_the_same_with_and_without_fills():
    fast = load_model("mbt2018-mean")   # built inside skip_init
    arch, config, state = load_weights(_resolve("mbt2018-mean"))
    plain = build(arch, **config)       # built with torch's fills, then loaded the same way
    extra = tuple(plain.extra_state_prefixes)
    plain.load_state_dict({k: v for k, v in state.items() if not k.startswith(extra)})
    plain.load_extra_state({k: v for k, v in state.items() if k.startswith(extra)})
    plain.eval()
    assert list(fast.state_dict()) == list(plain.state_dict())
    for (k, a), (_, b) in zip(fast.state_dict().items(), plain.state_dict().items()):
        assert torch.equal(a, b), k
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    assert fast.encode_image(x, 3) == plain.encode_image(x, 3)


def test_a_weights_file_missing_a_parameter_is_refused():
    arch, config, state = load_weights(_resolve("bmshj2018-hyperprior"))
    with skip_init():
        model = build(arch, **config)
    state = {k: v for k, v in state.items() if k != "g_a.0.weight" and not k.startswith(tuple(model.extra_state_prefixes))}
    with pytest.raises(RuntimeError, match="g_a.0.weight"):
        model.load_state_dict(state)


def test_fills_are_skipped_only_inside_the_block_and_its_thread():
    w = torch.zeros(8)
    other = torch.zeros(8)
    with skip_init():
        torch.nn.init.uniform_(w, 1.0, 2.0)
        t = threading.Thread(target=lambda: torch.nn.init.uniform_(other, 1.0, 2.0))
        t.start()
        t.join()
    assert torch.equal(w, torch.zeros(8))
    assert bool((other >= 1).all())
    torch.nn.init.uniform_(w, 1.0, 2.0)
    assert bool((w >= 1).all())
