"""Ray Data: the bytes of every row are those of the local API, a bad file is an error row, an
actor killed in the middle of the job is replaced and the job still returns every output."""
import os
import sys

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import fastcodec  # noqa: E402
import fastcodec.integrations.ray as fcray  # noqa: E402
from job_images import MODEL, QUALITY, image_set  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return image_set(tmp_path_factory.mktemp("images"))


def _rows(ds):
    return {row["path"]: row for row in ds.iter_rows()}


def test_encode_dataset_matches_local_bytes_and_reports_bad_rows(cluster, images):
    paths, expected, bad = images
    ds = ray.data.from_items([{"path": str(p)} for p in [*paths, bad]])
    rows = _rows(fcray.encode_dataset(ds, model=MODEL, quality=QUALITY, actors=2))
    assert set(rows) == {*expected, str(bad)}
    for path, blob in expected.items():
        assert rows[path]["error"] == "" and rows[path]["fcx"] == blob, path
        assert rows[path]["size"] == len(blob)
    assert rows[str(bad)]["fcx"] is None and "UnidentifiedImageError" in rows[str(bad)]["error"]


def test_bytes_and_image_columns_and_decode(cluster, images):
    paths, expected, _ = images
    few = paths[:3]
    ds = ray.data.from_items([{"key": str(p), "bytes": p.read_bytes()} for p in few])
    encoded = fcray.encode_dataset(ds, model=MODEL, quality=QUALITY, actors=1).materialize()
    assert set(encoded.columns()) >= {"key", "fcx", "size", "bpp", "error"} and "bytes" not in encoded.columns()
    decoded = {r["key"]: r for r in fcray.decode_dataset(encoded, actors=1).iter_rows()}
    for p in few:
        assert decoded[str(p)]["error"] == ""
        assert (decoded[str(p)]["image"] == fastcodec.decode(expected[str(p)])).all()


class DyingEncoder(fcray.FastcodecEncoder):
    """Kills its own actor process on its first batch of the job (once, marked by a file)."""

    def __init__(self, marker, **kwargs):
        super().__init__(**kwargs)
        self.marker = marker

    def __call__(self, batch):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().__call__(batch)
        os.close(fd)
        os._exit(1)


def test_killed_actor_is_replaced_and_every_output_arrives(cluster, images, tmp_path):
    paths, expected, _ = images
    marker = tmp_path / "died"
    ds = ray.data.from_items([{"path": str(p)} for p in paths])
    out = ds.map_batches(DyingEncoder, fn_constructor_kwargs={"marker": str(marker), "model": MODEL, "quality": QUALITY},
                         compute=ray.data.ActorPoolStrategy(size=2), batch_size=2, num_cpus=1)
    rows = _rows(out)
    assert marker.exists()  # an actor did die
    assert {p: r["fcx"] for p, r in rows.items()} == expected


def test_missing_input_column_names_the_argument(cluster):
    with pytest.raises(Exception, match="column"):
        fcray.encode_dataset(ray.data.from_items([{"x": 1}]), model=MODEL, quality=QUALITY, actors=1).materialize()
