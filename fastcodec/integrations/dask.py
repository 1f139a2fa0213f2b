"""Dask integration (`pip install fastcodec[dask]`): encode image files on a Dask cluster, the
model loaded once per worker by a worker plugin.

    from distributed import Client
    import fastcodec.integrations.dask as fcdask
    client = Client()                                    # or Client("tcp://scheduler:8786")
    fcdask.register(client, model="mbt2018-mean", quality=3)   # loads the model on every worker
    rows = fcdask.encode_bag(paths, model="mbt2018-mean", quality=3).compute()
    df = fcdask.encode_dataframe(ddf, column="path", model="mbt2018-mean", quality=3)

Each row: path, fcx (container bytes or None), size, bpp, height, width, error ('' or the
reason that item failed). The bytes are exactly `fastcodec.load(model, quality).encode(image)`
on the same kind of machine; a failing file is a row with an error, never a failed job; a worker
that dies is replaced by its nanny and its tasks rerun by the scheduler (`allowed-failures`).
Paths must be readable by the workers (on a cluster: shared storage).
"""
from distributed import WorkerPlugin, get_worker

from fastcodec.integrations.rows import ENCODED_COLUMNS, encode_row


def plugin_name(model, quality, refine=0):
    return f"fastcodec-{model}-{quality}-{refine}"


class FastcodecPlugin(WorkerPlugin):
    """Loads one model on each worker when the worker starts (or when registered), so tasks find
    it loaded; a worker restarted after a crash loads it again."""

    def __init__(self, model=None, quality=None, refine=0):
        self.model = model
        self.quality = quality
        self.refine = refine
        self.name = plugin_name(model, quality, refine)
        self.codec = None

    def setup(self, worker):
        from fastcodec.api import load

        self.codec = load(self.model, self.quality, refine=self.refine)


def register(client, model=None, quality=None, refine=0):
    """Installs the plugin for (model, quality) on every worker of `client`, now and as they join."""
    client.register_plugin(FastcodecPlugin(model, quality, refine))


def codec_for(model=None, quality=None, refine=0):
    """The worker's loaded Codec (from the plugin), or one loaded here outside a worker / without it."""
    try:
        plugin = get_worker().plugins.get(plugin_name(model, quality, refine))
    except ValueError:  # not running on a worker (e.g. dask's local schedulers)
        plugin = None
    if plugin is not None and plugin.codec is not None:
        return plugin.codec
    from fastcodec.api import load

    return load(model, quality, refine=refine)


def encode_path(path, model=None, quality=None, refine=0):
    """One row for one image file (never raises for a bad file)."""
    row = encode_row(codec_for(model, quality, refine), path)
    return {"path": str(path), **row}


def encode_bag(paths, model=None, quality=None, npartitions=None, refine=0):
    """A dask.bag of encoded rows, one per path (partitions of a few paths each by default)."""
    import dask.bag as db

    paths = [str(p) for p in paths]
    npartitions = npartitions or max(1, min(len(paths), 64, (len(paths) + 3) // 4))
    bag = db.from_sequence(paths, npartitions=npartitions)
    return bag.map(encode_path, model=model, quality=quality, refine=refine)


def _encode_partition(frame, column, model, quality, refine):
    import pandas as pd

    rows = [encode_row(codec_for(model, quality, refine), path) for path in frame[column]]
    out = frame.copy()
    for key in ENCODED_COLUMNS:
        out[key] = pd.Series([r[key] for r in rows], index=frame.index, dtype=object if key in ("fcx", "error") else None)
    return out


def encode_dataframe(df, column="path", model=None, quality=None, refine=0):
    """`df` (a dask DataFrame with a column of paths) with the encoded columns added."""
    import pandas as pd

    if column not in df.columns:
        raise KeyError(f"column: the dataframe has no column {column!r}")
    meta = df._meta.copy()
    for key, dtype in zip(ENCODED_COLUMNS, (object, "int64", "float64", "int64", "int64", object)):
        meta[key] = pd.Series(dtype=dtype)
    return df.map_partitions(_encode_partition, column, model, quality, refine, meta=meta)
