"""Training utilities: crops, a few steps that lower the loss, resumable checkpoints."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.models import build  # noqa: E402
from fastcodec.train.data import CropSampler  # noqa: E402
from fastcodec.train.loop import QualityBalance, reorder_optimizer_state, train  # noqa: E402


class ArraySampler(CropSampler):
    def __init__(self, images):
        self.images = images


def test_crops_shape_and_range():
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (50, 70, 3), dtype=np.uint8),
                            rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)])
    x = sampler.batch(rng, 6, 32)
    assert x.shape == (6, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_train_resumes_and_logs(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    train(model, sampler, tmp_path, 4, batch_size=8, crop=64, log_every=2, ckpt_every=2)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["param_names"] == [n for n, _ in model.named_parameters()]
    train(build("bmshj2018-hyperprior", N=8, M=12), sampler, tmp_path, 6, batch_size=8, crop=64, log_every=2)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_small_batches_cycle_through_every_quality(tmp_path):
    """A batch smaller than the 8 qualities must still train all of them (it used to see q1-q4 only)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    train(model, sampler, tmp_path, 2, batch_size=4, crop=64, log_every=2, ckpt_every=100)
    rec = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert all(b > 0 for b in rec["bpp"]), rec["bpp"]  # every quality had crops in the 2 steps


def test_training_can_be_restricted_to_some_qualities(tmp_path):
    """--qualities: crops are drawn from the chosen qualities only, each equally often."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    train(model, sampler, tmp_path, 2, batch_size=4, crop=64, log_every=2, ckpt_every=100, qualities=[0, 7])
    rec = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert [i for i, b in enumerate(rec["bpp"]) if b > 0] == [0, 7], rec["bpp"]
    with pytest.raises(ValueError, match="qualities"):
        train(model, sampler, tmp_path / "bad", 1, batch_size=4, crop=64, qualities=[8])


def test_optimizer_state_is_matched_by_name():
    model = build("mbt2018-mean", N=8, M=12)
    names = [n for n, _ in model.named_parameters()]
    legacy = [n for n in names if not n.startswith("gains.")] + [n for n in names if n.startswith("gains.")]
    params = dict(model.named_parameters())
    opt_state = {"state": {i: {"step": torch.tensor(1.0), "exp_avg": torch.zeros_like(params[n]),
                               "exp_avg_sq": torch.zeros_like(params[n])} for i, n in enumerate(legacy)},
                 "param_groups": [{"lr": 1e-4, "params": list(range(len(legacy)))}]}
    fixed = reorder_optimizer_state({"optimizer": opt_state}, model)
    for i, n in enumerate(names):
        assert fixed["state"][i]["exp_avg"].shape == params[n].shape
    opt = torch.optim.Adam(model.parameters())
    opt.load_state_dict(fixed)


def test_evaluation_points_and_bd_rate():
    from fastcodec.eval.bdrate import bd_rate, bd_rate_pchip
    from fastcodec.eval.evaluate import bd_table, evaluate_model
    from fastcodec.eval.metrics import ms_ssim, psnr

    rng = np.random.default_rng(0)
    images = [("a", rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)),
              ("b", rng.integers(0, 256, (33, 47, 3), dtype=np.uint8))]
    torch.manual_seed(0)
    points = evaluate_model(build("mbt2018-mean", N=8, M=12), images, qualities=(1, 8), log=lambda s: None)
    assert [p["quality"] for p in points] == [1, 8]
    assert all(p["bpp"] > 0 and 0 < p["ms_ssim"] <= 1 for p in points)
    im = images[0][1]
    assert psnr(im, im) == float("inf") and abs(ms_ssim(im, im) - 1) < 1e-6
    # a curve needing exactly half the rate everywhere is -50 %
    rate, quality = [0.25, 0.5, 1.0, 2.0], [28.0, 31.0, 34.0, 37.0]
    assert abs(bd_rate(rate, quality, [r / 2 for r in rate], quality) + 50) < 1e-6
    assert abs(bd_rate_pchip(rate, quality, [r / 2 for r in rate], quality) + 50) < 1e-6
    table = bd_table([{"bpp": r, "psnr": q} for r, q in zip(rate, quality)],
                     {"webp": [{"bpp": r * 2, "psnr": q} for r, q in zip(rate, quality)]})
    assert abs(table["webp"]["pchip"] + 50) < 1e-6


@pytest.mark.parametrize("arch", ["bmshj2018-factorized", "bmshj2018-hyperprior"])
def test_fit_density_lowers_the_rate_and_touches_only_the_density(arch):
    from fastcodec.train.fit_density import fit_density

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)])
    model = build(arch, N=8, M=12)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before, after = fit_density(model, sampler, batches=2, batch_size=8, crop=64, steps=60, lr=1e-2, log=lambda s: None)
    assert after < before
    for k, v in model.state_dict().items():
        assert torch.equal(v, before_state[k]) == (not k.startswith("entropy_bottleneck.")), k


def test_fit_gains_lowers_the_rd_loss_and_touches_only_gains_and_density():
    """The factorized model's own gains: the RD loss of the coded latents falls, the shared
    transforms and their FiLM stay bit-identical, and a hyperprior model is refused."""
    from fastcodec.train.fit_gains import fit_gains

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = [np.clip(np.cumsum(rng.integers(-8, 9, (64, 64, 3)), axis=1) + 128, 0, 255).astype(np.uint8)
              for _ in range(3)]
    sampler = ArraySampler(images)
    model = build("bmshj2018-factorized", N=8, M=12, density_per_quality=True, film=True)
    with torch.no_grad():
        model.film.log_scale.normal_(0, 0.1)  # a trained-looking modulation, which must stay as it is
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before, after = fit_gains(model, sampler, batches=2, batch_size=8, crop=64, steps=80, lr_gains=2e-2,
                              lr_density=1e-2, autocast=False, log=lambda s: None)
    assert after < before
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before_state[k])}
    assert {"gains.log_gain", "gains.log_inv_gain"} <= changed
    assert all(k.startswith(("gains.", "entropy_bottleneck.")) for k in changed), changed
    assert all(p.requires_grad for p in model.parameters())  # the freeze is undone
    with pytest.raises(ValueError, match="model"):
        fit_gains(build("bmshj2018-hyperprior", N=8, M=12), sampler, batches=1, batch_size=8, crop=64, steps=1)


def test_frozen_decoder_keeps_the_modulation_fixed_unless_trainable(tmp_path):
    """An encoder trained on a frozen g_s (the factorized model's own encoder): g_s never changes; the
    per-quality modulation stays as it was unless listed as trainable (film.), which trains it (the model then stores
    its own copy)."""
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    for train_film in (False, True):
        torch.manual_seed(0)
        model = build("bmshj2018-factorized", N=8, M=12, density_per_quality=True, film=True)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        train(model, sampler, tmp_path / str(train_film), 3, batch_size=8, crop=64, log_every=1,
              freeze=("g_s",), trainable=("film.",) if train_film else (), autocast=False)
        changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
        assert "g_a" in changed and "g_s" not in changed
        assert ("film" in changed) == train_film


def test_trainable_prefixes_train_inside_a_frozen_module(tmp_path):
    """--trainable g_s.6.: the last layer of a frozen g_s trains, the rest of g_s stays; a prefix that
    names no parameter is refused."""
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    torch.manual_seed(0)
    model = build("bmshj2018-factorized", N=8, M=12)
    last = f"g_s.{len(model.g_s) - 1}."
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, sampler, tmp_path / "a", 3, batch_size=8, crop=64, log_every=1, freeze=("g_s",),
          trainable=(last,), autocast=False)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert {k for k in changed if k.startswith("g_s.")} == {last + "weight", last + "bias"}
    with pytest.raises(ValueError, match="trainable"):
        train(model, sampler, tmp_path / "b", 1, batch_size=8, crop=64, freeze=("g_s",), trainable=("g_x.",),
              autocast=False)


def test_model_config_follows_the_warm_start_and_the_checkpoint(tmp_path):
    """A per-quality factorized warm start builds a per-quality model; a resumed run and an export
    rebuild it from the checkpoint's config."""
    import argparse

    from fastcodec.train.__main__ import run_config
    from fastcodec.train.export import export, export_checkpoint

    torch.manual_seed(0)
    model = build("bmshj2018-factorized", N=8, M=12).expand_density_per_quality()
    export(model, "fq", 1, zoo_dir=tmp_path)
    init = tmp_path / "weights" / "fq.safetensors"
    args = argparse.Namespace(out=str(tmp_path / "run"), init=str(init), arch="bmshj2018-factorized", N=128, M=192)
    cfg = run_config(args)
    assert cfg == {"N": 8, "M": 12, "density_per_quality": True}
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    train(build("bmshj2018-factorized", **cfg), sampler, tmp_path / "run", 2, batch_size=8, crop=64, log_every=1)
    assert run_config(argparse.Namespace(out=str(tmp_path / "run"), init=None, arch="x", N=1, M=1)) == cfg
    entry = export_checkpoint(tmp_path / "run" / "ckpt.pt", "bmshj2018-factorized", "fq2", zoo_dir=tmp_path)
    assert entry["config"]["density_per_quality"]


def test_round_rate_quantization_trains_on_the_coded_symbols():
    """With rate_quantization "round", a training forward's likelihoods are those of the symbols
    compress() codes (same as eval mode), and gradients still reach the entropy model."""
    torch.manual_seed(0)
    model = build("mbt2018-mean", N=8, M=12)
    x = torch.rand(2, 3, 64, 64)
    q = torch.tensor([0, 5])
    model.eval()
    with torch.no_grad():
        ref = model(x, q)["likelihoods"]
    model.train()
    model.rate_quantization = "round"
    out = model(x, q)["likelihoods"]
    for k in ("y", "z"):
        torch.testing.assert_close(out[k], ref[k])
    sum((-torch.log2(v)).sum() for v in out.values()).backward()
    assert sum(float(p.grad.abs().sum()) for p in model.entropy_bottleneck.parameters() if p.grad is not None) > 0
    assert float(model.g_a[0].weight.grad.abs().sum()) > 0   # straight through the rounding
    model.rate_quantization = "noise"
    assert not torch.equal(model(x, q)["likelihoods"]["y"], ref["y"])


def test_lr_mult_groups_train_and_resume(tmp_path):
    """--lr-mult: a module's parameters get their own learning rate; the optimizer state follows
    them by name across a resume that adds or drops the multiplier."""
    from fastcodec.train.__main__ import parse_lr_mult
    from fastcodec.train.loop import lr_groups

    assert parse_lr_mult("context_prediction=10, h_s=0.5") == {"context_prediction": 10.0, "h_s": 0.5}
    with pytest.raises(SystemExit):
        parse_lr_mult("context_prediction")
    with pytest.raises(SystemExit):
        parse_lr_mult("h_s=-1")
    model = build("mbt2018", N=8, M=12)
    names, groups = lr_groups(model, 1e-4, {"context_prediction": 10})
    assert [g["lr"] for g in groups] == [1e-4, 1e-3]
    assert set(names[-2:]) == {"context_prediction.weight", "context_prediction.bias"}
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    train(model, sampler, tmp_path, 2, batch_size=8, crop=64, log_every=2, ckpt_every=1,
          lr_mult={"context_prediction": 10})
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert len(ckpt["optimizer"]["param_groups"]) == 2 and ckpt["param_names"] == names
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    # resume without the multiplier: one group, every parameter's Adam state carried over by name
    resumed = build("mbt2018", N=8, M=12)
    train(resumed, sampler, tmp_path, 3, batch_size=8, crop=64, log_every=1, ckpt_every=1)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert len(ckpt["optimizer"]["param_groups"]) == 1 and ckpt["step"] == 3
    assert all(float(s["step"]) == 3 for s in ckpt["optimizer"]["state"].values())
    assert any(not torch.equal(before[n], p) for n, p in resumed.named_parameters())


def test_weight_average_follows_the_steps_resumes_and_exports(tmp_path):
    """--ema: after each step avg = d * avg + (1 - d) * w; the average survives a resume (a run
    resumed with --ema from a checkpoint without one starts it from the weights) and is what
    export --ema writes."""
    from fastcodec import zoo
    from fastcodec.train.export import export_checkpoint

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    train(model, sampler, tmp_path, 1, batch_size=8, crop=64, log_every=1, ckpt_every=1, lr=1e-2, ema=0.75)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    for n, p in model.named_parameters():   # one step: avg = 0.75 start + 0.25 w1
        torch.testing.assert_close(ckpt["ema"][n], 0.75 * start[n] + 0.25 * p.detach())
    assert ckpt["ema_decay"] == 0.75
    w1, avg1 = {n: p.detach().clone() for n, p in model.named_parameters()}, dict(ckpt["ema"])
    resumed = build("bmshj2018-hyperprior", N=8, M=12)
    train(resumed, sampler, tmp_path, 2, batch_size=8, crop=64, log_every=1, ckpt_every=1, lr=1e-2, ema=0.75)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    for n, p in resumed.named_parameters():
        assert not torch.equal(p.detach(), w1[n]) or not p.requires_grad
        torch.testing.assert_close(ckpt["ema"][n], 0.75 * avg1[n] + 0.25 * p.detach())
    entry = export_checkpoint(tmp_path / "ckpt.pt", "bmshj2018-hyperprior", "avg", zoo_dir=tmp_path / "zoo", ema=True)
    loaded = zoo.load_model(tmp_path / "zoo" / "weights" / "avg.safetensors")
    assert entry["steps"] == 2
    for n, _ in resumed.named_parameters():
        torch.testing.assert_close(loaded.state_dict()[n], ckpt["ema"][n].half().float())
    # a checkpoint without an average: export --ema refuses, training --ema starts one from the weights
    plain = tmp_path / "plain"
    train(build("bmshj2018-hyperprior", N=8, M=12), sampler, plain, 1, batch_size=8, crop=64, log_every=1)
    with pytest.raises(SystemExit, match="no weight average"):
        export_checkpoint(plain / "ckpt.pt", "bmshj2018-hyperprior", "x", zoo_dir=tmp_path / "zoo", ema=True)
    m2 = build("bmshj2018-hyperprior", N=8, M=12)
    train(m2, sampler, plain, 1, batch_size=8, crop=64, log_every=1, ema=0.5)   # nothing to do at step 1
    before = torch.load(plain / "ckpt.pt", weights_only=True)
    train(m2, sampler, plain, 2, batch_size=8, crop=64, log_every=1, ema=0.5)
    after = torch.load(plain / "ckpt.pt", weights_only=True)
    for n, p in m2.named_parameters():
        torch.testing.assert_close(after["ema"][n], 0.5 * before["model"][n] + 0.5 * p.detach())


def test_quality_balance_weights_each_quality_by_its_running_mean_loss():
    """Weights 1 / running mean of the quality's loss, normalized to mean 1 over the batch: with
    steady losses every quality's weighted loss is the same; the means follow an exponential
    average and a quality not yet seen takes its first loss as is."""
    balance = QualityBalance(decay=0.5)
    q = torch.tensor([0, 1, 1, 7])
    losses = torch.tensor([1.0, 4.0, 4.0, 8.0])
    w = balance.weights(q, losses)
    weighted = w * losses
    torch.testing.assert_close(weighted, torch.full((4,), float(weighted[0])))
    torch.testing.assert_close(w.mean(), torch.tensor(1.0))
    assert torch.isnan(balance.means[2]) and float(balance.means[1]) == 4.0
    balance.weights(torch.tensor([1, 2]), torch.tensor([2.0, 3.0]))
    assert float(balance.means[1]) == 0.5 * 4.0 + 0.5 * 2.0 and float(balance.means[2]) == 3.0
    assert float(balance.means[0]) == 1.0   # untouched when its quality is absent


def test_balanced_training_saves_and_resumes_its_means(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    train(build("bmshj2018-hyperprior", N=8, M=12), sampler, tmp_path, 1, batch_size=8, crop=64,
          log_every=1, balance=True)
    first = torch.load(tmp_path / "ckpt.pt", weights_only=True)["balance_means"]
    assert first.shape == (8,) and bool(torch.all(first > 0))
    train(build("bmshj2018-hyperprior", N=8, M=12), sampler, tmp_path, 2, batch_size=8, crop=64,
          log_every=1, balance=True)
    second = torch.load(tmp_path / "ckpt.pt", weights_only=True)["balance_means"]
    # resumed, not restarted: each mean moved by 1 % towards the new step's loss, not replaced by it
    step2 = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert step2["balance"] is True
    assert torch.allclose(second, first, rtol=0.05) and not torch.equal(second, first)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_balanced_training_with_weight_average_runs_on_cuda(tmp_path):
    """The GPU burst's configuration (python -m fastcodec.train.recipe burst) on a small model: quality
    balance, weight average, FiLM, validation. The first burst on a GPU stopped at its first step: the
    balance weights came back on the CPU."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    val = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)]
    train(build("mbt2018-mean", N=8, M=12, film=True), sampler, tmp_path, 2, batch_size=8, crop=64,
          log_every=1, balance=True, ema=0.9, device="cuda", val_images=val, val_every=2,
          lr_mult={"film": 10.0})
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 2 and all(t.device.type == "cpu" for t in ckpt["ema"].values())


def test_valcurve_compares_checkpoints_and_zoo_weights(tmp_path, capsys):
    """python -m fastcodec.train.valcurve: one curve per source over the held-out folders, BD-rate of
    each against the first (0 for the same weights twice), checkpoints by weights or average."""
    from PIL import Image

    from fastcodec.train import valcurve

    rng = np.random.default_rng(0)
    for d in ("set5", "other"):
        (tmp_path / "data" / d).mkdir(parents=True)
    for k in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / "data" / "set5" / f"{k}.png")
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    torch.manual_seed(0)
    train(build("mbt2018-mean", N=8, M=12), sampler, tmp_path / "run", 2, batch_size=8, crop=64, log_every=1,
          lr=1e-2, ema=0.5)
    ckpt = str(tmp_path / "run" / "ckpt.pt")
    out = tmp_path / "curves.json"
    assert valcurve.main([ckpt, ckpt, "--data", str(tmp_path / "data"), "--dirs", "set5", "--qualities", "1,4,8",
                          "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["images"]) == 2 and result["qualities"] == [1, 4, 8]
    assert result["bd_rate_pct_vs_first"][ckpt] == pytest.approx(0.0, abs=1e-9)
    assert "BD-rate vs" in capsys.readouterr().out
    plain = valcurve.curve(valcurve.load_source(ckpt), [np.asarray(Image.open(tmp_path / "data/set5/0.png"))], [0, 7])
    averaged = valcurve.curve(valcurve.load_source(ckpt, ema=True), [np.asarray(Image.open(tmp_path / "data/set5/0.png"))], [0, 7])
    assert plain != averaged   # the average is not the last weights after steps at lr 1e-2
    with pytest.raises(SystemExit, match="not a bmshj2018-hyperprior checkpoint"):
        valcurve.load_source(ckpt, arch="bmshj2018-hyperprior")
    with pytest.raises(SystemExit, match="^--data/--dirs: .*kodak is Kodak"):
        (tmp_path / "kodak").mkdir()
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "kodak" / "k.png")
        valcurve.main([ckpt, "--data", str(tmp_path), "--dirs", "kodak"])


def test_to_cpu_moves_every_tensor_of_a_checkpoint():
    from fastcodec.train.loop import to_cpu

    t = torch.ones(2)
    optimizer = {"state": {0: {"step": torch.tensor(3.0)}}, "groups": [1, (t,)]}
    out = to_cpu({"model": {"w": t}, "optimizer": optimizer, "step": 4, "names": ["a"]})
    assert out["step"] == 4 and out["names"] == ["a"] and isinstance(out["optimizer"]["groups"][1], tuple)
    assert torch.equal(out["model"]["w"], t) and out["optimizer"]["state"][0]["step"].item() == 3.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_train_on_cuda_writes_cpu_checkpoints_that_resume_on_the_cpu(tmp_path):
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    val = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)]
    train(build("mbt2018-mean", N=8, M=12), sampler, tmp_path, 2, batch_size=8, crop=64, log_every=1, ema=0.9,
          balance=True, val_images=val, val_every=2, device="cuda")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert all(v.device.type == "cpu" for v in ckpt["model"].values())
    assert all(v.device.type == "cpu" for v in ckpt["ema"].values())
    train(build("mbt2018-mean", N=8, M=12), sampler, tmp_path, 3, batch_size=8, crop=64, log_every=1, ema=0.9,
          balance=True, device="cpu")
    assert torch.load(tmp_path / "ckpt.pt", weights_only=True)["step"] == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_train_cli_refuses_cuda_without_a_device(tmp_path):
    from fastcodec.train.__main__ import build_parser, run

    args = build_parser().parse_args(["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--steps", "1",
                                      "--device", "cuda"])
    with pytest.raises(SystemExit, match="--device cuda: no CUDA device"):
        run(args)


def test_context_warm_start_counts_only_tensors_that_fit(tmp_path):
    """A context model warm-started from a version of another latent width gets the pass-through
    start (its old entropy_parameters cannot load), not a random context part."""
    from fastcodec.zoo import save_float_weights

    from fastcodec.train.__main__ import warm_started

    old = build("mbt2018", N=8, M=12)
    path = tmp_path / "old.safetensors"
    save_float_weights(old, path)
    assert warm_started(build("mbt2018", N=8, M=12), str(path), "entropy_parameters.")
    assert not warm_started(build("mbt2018", N=8, M=20), str(path), "entropy_parameters.")


def test_jpeg_sources_can_be_reduced(tmp_path):
    """--jpeg-downsample 2: a JPEG loads at half size (box average), a PNG as it is."""
    from PIL import Image

    from fastcodec.train.data import CropSampler, load_rgb

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(arr).save(tmp_path / "b.png")
    full = load_rgb(tmp_path / "a.jpg")
    half = load_rgb(tmp_path / "a.jpg", 2)
    assert half.shape == (20, 30, 3)
    box = full.reshape(20, 2, 30, 2, 3).astype(float).mean((1, 3))
    assert np.abs(half.astype(float) - box).max() <= 1.0
    assert np.array_equal(load_rgb(tmp_path / "b.png", 2), arr)
    sampler = CropSampler([tmp_path / "a.jpg", tmp_path / "b.png"], jpeg_downsample=2)
    assert [im.shape for im in sampler.images] == [(20, 30, 3), (40, 60, 3)]


@pytest.mark.parametrize("freeze,rate_only", [(("g_a", "g_s", "gains"), True), (("g_s", "gains"), False)])
def test_the_distortion_counts_unless_both_transforms_are_frozen(tmp_path, freeze, rate_only):
    """Rate alone only with both transforms frozen: an encoder trained on a frozen g_s under the
    rate alone would learn to send nothing."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    g_s = {k: v.clone() for k, v in model.g_s.state_dict().items()}
    train(model, sampler, tmp_path, 2, batch_size=8, crop=64, log_every=2, ckpt_every=100, freeze=freeze)
    psnr = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])["psnr"]
    assert all(p == 100.0 for p in psnr) == rate_only, psnr   # the log's PSNR of a rate-only loss is 100
    assert all(torch.equal(v, model.g_s.state_dict()[k]) for k, v in g_s.items())


def test_export_cli_writes_a_resume_point_outside_the_zoo(tmp_path):
    """`python -m fastcodec.train.export CKPT --ema --zoo-dir DIR`: the run's weight average as an fp16
    weights file under DIR (the package's zoo untouched), with the warm start's steps added, that
    `fastcodec train --init DIR/weights/NAME.safetensors` starts a new run from."""
    from fastcodec import zoo
    from fastcodec.train.__main__ import warm_start
    from fastcodec.train.export import main

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sampler = ArraySampler([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)])
    model = build("bmshj2018-hyperprior", N=8, M=12)
    train(model, sampler, tmp_path / "run", 2, batch_size=8, crop=64, log_every=1, ckpt_every=1, lr=1e-2, ema=0.5)
    shipped = sorted(p.name for p in zoo.WEIGHTS_DIR.iterdir())
    entry = main([str(tmp_path / "run" / "ckpt.pt"), "--arch", "bmshj2018-hyperprior", "--name", "resume",
                  "--N", "8", "--M", "12", "--ema", "--step-offset", "100", "--zoo-dir", str(tmp_path / "resume")])
    assert entry["steps"] == 102
    assert sorted(p.name for p in zoo.WEIGHTS_DIR.iterdir()) == shipped
    path = tmp_path / "resume" / "weights" / "resume.safetensors"
    ckpt = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=True)
    fresh = build("bmshj2018-hyperprior", N=8, M=12)
    warm_start(fresh, str(path))
    for n, _ in fresh.named_parameters():
        torch.testing.assert_close(fresh.state_dict()[n], ckpt["ema"][n].half().float())


def test_a_warm_start_of_another_architecture_keeps_its_widths_and_modulation(tmp_path):
    """elic2022 (or a context model) started from a mean-scale file with FiLM: the same N, M and the
    FiLM values, so every tensor of the shared transforms loads."""
    import argparse

    from fastcodec.train.__main__ import run_config, warm_start
    from fastcodec.train.export import export

    torch.manual_seed(0)
    export(build("mbt2018-mean", N=8, M=24, film=True), "base", 1, zoo_dir=tmp_path)
    init = tmp_path / "weights" / "base.safetensors"
    args = argparse.Namespace(out=str(tmp_path / "run"), init=str(init), arch="elic2022", N=128, M=192)
    cfg = run_config(args)
    assert cfg == {"N": 8, "M": 24, "film": True}
    model = build("elic2022", **cfg)
    base_names = set(build("mbt2018-mean", N=8, M=24, film=True).state_dict())
    assert f"{len(base_names)} of" in warm_start(model, str(init))


def test_config_gives_a_fresh_model_its_constructor_arguments(tmp_path):
    from fastcodec.train.__main__ import build_parser, run_config

    args = build_parser().parse_args(["--arch", "toderici2017", "--data", "x", "--out", str(tmp_path / "r"),
                                      "--steps", "1", "--config", '{"width": 0.25, "iterations": 4}'])
    assert run_config(args) == {"width": 0.25, "iterations": 4}          # no N or M: not its arguments
    args = build_parser().parse_args(["--arch", "mbt2018-mean", "--data", "x", "--out", str(tmp_path / "r"),
                                      "--steps", "1", "--config", "[1]"])
    with pytest.raises(SystemExit, match="JSON object"):
        run_config(args)
