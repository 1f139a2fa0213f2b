"""Zoo: export to fp16 safetensors with a manifest entry, load back, sha256 check."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec import zoo  # noqa: E402
from fastcodec.models import build  # noqa: E402
from fastcodec.train.export import export  # noqa: E402


def test_export_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build("bmshj2018-hyperprior", N=8, M=12)
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"step": 10, "loss": 1.0}) + "\n" + json.dumps({"step": 10, "val": {}}) + "\n")
    entry = export(model, "tiny", 10, log, zoo_dir=tmp_path / "zoo")
    assert entry["architecture"] == "bmshj2018-hyperprior" and entry["steps"] == 10
    assert entry["qualities"] == list(range(1, 9)) and len(entry["lambdas"]) == 8
    path = tmp_path / "zoo" / "weights" / "tiny.safetensors"
    assert entry["sha256"] == zoo.sha256_file(path)
    loaded = zoo.load_model(path)
    assert not loaded.training and loaded.config() == {"N": 8, "M": 12}
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v.half().float())
    record = json.loads((tmp_path / "zoo" / "weights" / "tiny.train.json").read_text())
    assert len(record["train"]) == 1 and len(record["val"]) == 1


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'no-such-model'"):
        zoo.load_model("no-such-model")


def test_shipped_models_load_and_match_manifest():
    for name in zoo.list_models():
        entry = zoo.manifest()[name]
        model = zoo.load_model(name)
        assert model.name == entry["architecture"]


def test_fitting_scripts_load_the_float_weights_of_zoo_names_and_files(tmp_path):
    """fit_density / fit_gains take `--init` as a zoo name or a file: only the float weights load (a
    zoo file's coding tables and integer networks are rebuilt on export), the same as load_model's."""
    from fastcodec.zoo import save_float_weights

    for name in zoo.list_models():
        model = zoo.load_float_model(name)
        shipped = zoo.load_model(name).state_dict()
        assert model.name == zoo.manifest()[name]["architecture"]
        for k, v in model.state_dict().items():
            assert torch.equal(v, shipped[k]), (name, k)
    plain = tmp_path / "plain.safetensors"
    save_float_weights(model, plain)
    again = zoo.load_float_model(plain)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="unknown model 'no-such-model'"):
        zoo.load_float_model("no-such-model")


def test_exported_weights_carry_integer_coding_tables(tmp_path):
    torch.manual_seed(0)
    model = build("mbt2018-mean", N=8, M=12)
    export(model, "tabled", 1, zoo_dir=tmp_path)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "weights" / "tabled.safetensors"), framework="pt") as f:
        keys = set(f.keys())
        rows = f.get_tensor("tables.entropy_bottleneck.rows")
        lengths = f.get_tensor("tables.entropy_bottleneck.lengths")
    assert rows.dtype == torch.int32 and rows.dim() == 1 and rows.numel() == int(lengths.sum())  # ragged
    assert {"tables.entropy_bottleneck.rows", "tables.entropy_bottleneck.lengths",
            "tables.entropy_bottleneck.offsets"} <= keys
    loaded = zoo.load_model(tmp_path / "weights" / "tabled.safetensors")
    assert "entropy_bottleneck" in loaded._coders  # installed from the file, not recomputed
    recomputed = build("mbt2018-mean", N=8, M=12)
    recomputed.load_state_dict({k: v for k, v in loaded.state_dict().items()})
    assert recomputed.factorized_coder().table == loaded.factorized_coder().table


def test_padded_coding_tables_of_older_files_load_the_same():
    # older exported files store the padded [tables, max_length] array as "cdfs"
    torch.manual_seed(0)
    model = build("bmshj2018-factorized", N=8, M=12)
    table = model.factorized_coder().table
    padded = {"tables.entropy_bottleneck." + f: torch.from_numpy(np.array(getattr(table, f)))
              for f in ("cdfs", "lengths", "offsets")}
    ragged = model.coding_tables()
    a, b = build("bmshj2018-factorized", N=8, M=12), build("bmshj2018-factorized", N=8, M=12)
    a.set_coding_tables(padded)
    b.set_coding_tables(ragged)
    assert a.factorized_coder().table == b.factorized_coder().table == table
    short = dict(ragged, **{"tables.entropy_bottleneck.rows": ragged["tables.entropy_bottleneck.rows"][:-1]})
    with pytest.raises(ValueError, match="coding table 'entropy_bottleneck'"):
        build("bmshj2018-factorized", N=8, M=12).set_coding_tables(short)


def test_integer_prior_is_shipped_and_used(tmp_path):
    torch.manual_seed(0)
    model = build("mbt2018-mean", N=8, M=12).eval()
    with torch.no_grad():
        model.gains.log_gain.add_(2.0)
    x = torch.rand(1, 3, 64, 64)
    zs = [torch.round(model.h_a(model.analyze(model.pad(x), torch.tensor([q])))) for q in (0, 7)]
    export(model, "intprior", 1, zoo_dir=tmp_path, calibration=zs)
    loaded = zoo.load_model(tmp_path / "weights" / "intprior.safetensors")
    assert loaded.int_h_s is not None and not any(k.startswith("int_h_s") for k in loaded.state_dict())
    z = zs[1]
    out = loaded.prior(z)
    frac = loaded.int_h_s.out_frac.double().reshape(1, -1, 1, 1)   # one format per channel
    assert loaded.int_h_s.version.item() == 2
    assert torch.equal(out * 2.0 ** frac, torch.round(out * 2.0 ** frac))  # exact fixed point
    assert float((out - loaded.h_s(z)).norm() / loaded.h_s(z).norm()) < 0.02
    c = loaded.compress(x, 7)
    assert loaded.decompress(c["strings"], c["latent"], c["size"], 7).shape == x.shape


def test_derived_model_shares_its_base_tensors(tmp_path):
    """A context model trained on frozen mean-scale transforms stores only what differs; it loads
    beside that exact base file and refuses any other version of it."""
    torch.manual_seed(0)
    base = build("mbt2018-mean", N=8, M=12).eval()
    export(base, "base", 1, zoo_dir=tmp_path)
    derived = build("mbt2018", N=8, M=12).eval()
    derived.load_state_dict(base.state_dict(), strict=False)
    entry = export(derived, "derived", 2, zoo_dir=tmp_path, base="base")
    weights = tmp_path / "weights"
    assert entry["base"] == "base"
    assert (weights / "derived.safetensors").stat().st_size < (weights / "base.safetensors").stat().st_size
    loaded = zoo.load_model(weights / "derived.safetensors")
    for k, v in derived.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.half().float()), k
    export(build("mbt2018-mean", N=8, M=12), "base", 3, zoo_dir=tmp_path)  # the base changes
    with pytest.raises(ValueError, match="another version"):
        zoo.load_model(weights / "derived.safetensors")


def test_factorized_with_per_quality_densities_ships_and_decodes(tmp_path):
    torch.manual_seed(0)
    model = build("bmshj2018-factorized", N=8, M=12).eval()
    model.expand_density_per_quality()
    export(model, "fq", 1, zoo_dir=tmp_path)
    loaded = zoo.load_model(tmp_path / "weights" / "fq.safetensors")
    assert loaded.density_per_quality and loaded.factorized_coder().channels == 12 * 8
    x = torch.rand(1, 3, 32, 48)
    for q in (0, 7):
        c = loaded.compress(x, q)
        assert loaded.decompress(c["strings"], c["latent"], c["size"], q).shape == x.shape


def test_factorized_derived_from_a_mean_scale_base_exports_from_safetensors(tmp_path):
    """The path of the shipped factorized model: the base's transforms, its own fitted densities,
    written by fit_density as float safetensors and exported from that file as a derived model."""
    from fastcodec.train.export import export_checkpoint
    from fastcodec.zoo import save_float_weights

    torch.manual_seed(0)
    base = build("mbt2018-mean", N=8, M=12).eval()
    export(base, "base", 5, zoo_dir=tmp_path)
    fact = build("bmshj2018-factorized", N=8, M=12).eval().expand_density_per_quality()
    fact.load_state_dict({k: v.half().float() for k, v in base.state_dict().items()
                          if k.startswith(("g_a.", "g_s.", "gains."))}, strict=False)
    src = tmp_path / "fit.safetensors"
    save_float_weights(fact, src)
    entry = export_checkpoint(src, "bmshj2018-factorized", "fact", step_offset=5, base="base", zoo_dir=tmp_path)
    assert entry["steps"] == 5 and entry["base"] == "base"
    loaded = zoo.load_model(tmp_path / "weights" / "fact.safetensors")
    assert loaded.density_per_quality
    for k, v in fact.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.half().float()), k
    with pytest.raises(SystemExit, match="not mbt2018"):
        export_checkpoint(src, "mbt2018", "wrong", zoo_dir=tmp_path)
    with pytest.raises(SystemExit, match="training checkpoints"):
        export_checkpoint(src, "bmshj2018-factorized", "x", zoo_dir=tmp_path, ema=True)


def test_shipped_zoo_stays_within_its_40_mb_budget():
    """Issue 3: every shipped model, weights and training records, in at most 40 MB. A missing
    manifest or weights folder, or a file the manifest names and the folder lacks, fails here (the
    tests that code with the shipped models skip without them)."""
    assert zoo.MANIFEST.is_file(), f"no manifest at {zoo.MANIFEST}"
    assert zoo.WEIGHTS_DIR.is_dir(), f"no weights folder at {zoo.WEIGHTS_DIR}"
    entries = zoo.manifest()
    assert entries, "the manifest lists no model"
    for entry in entries.values():
        for name in (entry["file"], entry["training_record"]):
            path = zoo.WEIGHTS_DIR / name
            assert path.is_file() and path.stat().st_size > 0, f"{entry['name']}: {path.name} is missing or empty"
    files = list(zoo.WEIGHTS_DIR.iterdir()) + [zoo.MANIFEST]
    total = sum(p.stat().st_size for p in files if p.is_file())
    assert len([p for p in files if p.suffix == ".safetensors"]) == len(entries)
    assert total <= 40_000_000, f"the zoo holds {total / 1e6:.1f} MB"
