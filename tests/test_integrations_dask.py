"""Dask: bag and dataframe helpers give the local API's bytes, a bad file is an error row, a worker
killed in the middle of the job is replaced and the job still returns every output."""
import os
import sys

import pytest

distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import fastcodec.integrations.dask as fcdask  # noqa: E402
from job_images import MODEL, QUALITY, image_set  # noqa: E402


@pytest.fixture(scope="module")
def client():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True)
    with distributed.Client(cluster) as c:
        fcdask.register(c, MODEL, QUALITY)
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return image_set(tmp_path_factory.mktemp("images"))


def test_plugin_loads_the_model_on_every_worker(client):
    loaded = client.run(lambda dask_worker: dask_worker.plugins[fcdask.plugin_name(MODEL, QUALITY)].codec is not None)
    assert len(loaded) == 2 and all(loaded.values())


def test_bag_matches_local_bytes_and_reports_bad_rows(client, images):
    paths, expected, bad = images
    rows = {r["path"]: r for r in fcdask.encode_bag([*paths, bad], MODEL, QUALITY).compute()}
    assert {p: rows[p]["fcx"] for p in expected} == expected
    assert rows[str(bad)]["fcx"] is None and "UnidentifiedImageError" in rows[str(bad)]["error"]


def test_dataframe_matches_local_bytes(client, images):
    paths, expected, bad = images
    df = dd.from_pandas(pd.DataFrame({"path": [str(p) for p in paths[:6]] + [str(bad)]}), npartitions=3)
    out = fcdask.encode_dataframe(df, model=MODEL, quality=QUALITY).compute().set_index("path")
    for p in paths[:6]:
        assert out.loc[str(p), "fcx"] == expected[str(p)] and out.loc[str(p), "error"] == ""
        assert out.loc[str(p), "size"] == len(expected[str(p)])
    assert out.loc[str(bad), "error"].startswith("UnidentifiedImageError")


def _dying_encode(path, marker):
    """Kills its worker process on the job's first task (once, marked by a file)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return fcdask.encode_path(path, MODEL, QUALITY)
    os.close(fd)
    os._exit(1)


def test_killed_worker_is_replaced_and_every_output_arrives(client, images, tmp_path):
    paths, expected, _ = images
    marker = str(tmp_path / "died")
    futures = client.map(_dying_encode, [str(p) for p in paths], marker=marker, pure=False)
    rows = client.gather(futures)
    assert os.path.exists(marker)
    assert {r["path"]: r["fcx"] for r in rows} == expected
    client.wait_for_workers(2, timeout=120)


def test_outside_a_worker_the_helpers_load_the_model_here(images):
    paths, expected, _ = images
    row = fcdask.encode_path(paths[0], MODEL, QUALITY)
    assert row["fcx"] == expected[str(paths[0])]
