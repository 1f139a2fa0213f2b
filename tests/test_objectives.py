"""Training objectives by name (fastcodec.train.objectives) and the differentiable MS-SSIM they use."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.eval.metrics import ms_ssim, ms_ssim_batch  # noqa: E402
from fastcodec.models import build  # noqa: E402
from fastcodec.train.objectives import OBJECTIVES, MseRD, MsSsimRD, objective  # noqa: E402


def test_batch_ms_ssim_is_the_metric_per_image():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 96, 80, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    x = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
    batch = ms_ssim_batch(x, y, 1.0)
    for k in range(2):
        assert float(batch[k]) == pytest.approx(ms_ssim(a[k], b[k]), abs=1e-5)
    assert float(ms_ssim_batch(x, x, 1.0).min()) == pytest.approx(1.0, abs=1e-6)


def test_objectives_by_name_and_by_metric():
    m = build("mbt2018-mean", N=8, M=12)
    assert isinstance(objective(None, m), MseRD) and isinstance(objective("ms-ssim-rd"), MsSsimRD)
    assert set(OBJECTIVES) == {"mse-rd", "ms-ssim-rd", "recurrent-l1"}
    assert objective(None, build("toderici2017", width=0.125)).name == "recurrent-l1"
    with pytest.raises(ValueError, match="objective must be one of"):
        objective("gan-nope")


@pytest.mark.parametrize("name", ["mse-rd", "ms-ssim-rd"])
def test_objective_loss_is_lambda_distortion_plus_rate_and_trains(name):
    torch.manual_seed(0)
    m = build("mbt2018-mean", N=8, M=12)
    x = torch.rand(2, 3, 64, 64)
    q = torch.tensor([0, 7])
    lambdas = torch.tensor(m.rate_spec.lambdas)
    obj = objective(name)
    loss, bpp, dist, out = obj(m, x, q, lambdas, autocast=False)
    assert loss.shape == (2,) and torch.all(bpp > 0) and torch.all(dist > 0)
    scale = 255 ** 2 if name == "mse-rd" else 1
    assert torch.allclose(loss, lambdas[q] * scale * dist + bpp)
    loss.mean().backward()
    assert m.g_a[0].weight.grad is not None and torch.isfinite(m.g_a[0].weight.grad).all()


def test_the_loop_trains_with_the_ms_ssim_objective(tmp_path):
    from fastcodec.train.loop import train

    class Crops:
        def batch(self, rng, batch_size, crop):
            return torch.from_numpy(rng.random((batch_size, 3, crop, crop), dtype=np.float32))

    m = build("mbt2018-mean", N=8, M=12)
    train(m, Crops(), tmp_path, steps=2, batch_size=2, crop=64, log_every=1, autocast=False, objective="ms-ssim-rd")
    log = (tmp_path / "log.jsonl").read_text()
    assert '"objective": "ms-ssim-rd"' in log and '"distortion"' in log


def test_the_recurrent_objective_is_the_mean_l1_residual_over_the_iterations():
    torch.manual_seed(0)
    m = build("toderici2017", width=0.125, iterations=3).train()
    x = torch.rand(2, 3, 32, 32)
    torch.manual_seed(1)
    loss, bpp, dist, out = objective("recurrent-l1")(m, x, torch.zeros(2, dtype=torch.long), torch.ones(1), False)
    expected = sum((x - r).abs().mean(dim=(1, 2, 3)) for r in out["reconstructions"]) / 3
    assert torch.allclose(loss, expected)
    assert torch.allclose(bpp, torch.full((2,), 3 * 32 / 256))          # 3 iterations of 1/8 bpp
    assert torch.allclose(dist, ((out["x_hat"] - x) ** 2).mean(dim=(1, 2, 3)))
