"""Ray Data integration (`pip install fastcodec[ray]`, ray 2.60 or later): encode and decode the
rows of a `ray.data.Dataset` on a pool of actors, each holding its model loaded once.

    import ray, fastcodec.integrations.ray as fcray
    ds = ray.data.from_items([{"path": p} for p in paths])   # or read_images / read_binary_files
    out = fcray.encode_dataset(ds, model="mbt2018-mean", quality=3, actors=4)
    for row in out.iter_rows(): ...   # path, fcx (bytes), size, bpp, height, width, error

or, with the engine's own API:

    ds.map_batches(fcray.FastcodecEncoder, fn_constructor_kwargs={"model": "mbt2018-mean", "quality": 3},
                   compute=ray.data.ActorPoolStrategy(size=4), batch_size=4, num_cpus=1)

The input column is "path" (files the workers can read: on a cluster, shared storage), "bytes"
(image file bytes, as `ray.data.read_binary_files` gives) or "image" (uint8 arrays, as
`ray.data.read_images` gives); the bytes and arrays are dropped from the output, other columns
pass through. The bytes are exactly `fastcodec.load(model, quality).encode(image)` on the same
kind of machine (the prior path is integer; torch's thread count does not change them), and decode
to the same pixels anywhere. A failing item becomes a row with `error` set; an actor that dies is
restarted and its batch retried (Ray Data's defaults for actor pools: max_restarts and
max_task_retries of -1; tests/test_integrations_ray.py kills one mid-job). Ray Data
does not keep row order unless `DataContext.execution_options.preserve_order` is set: match rows
by a column such as "path".
"""
import numpy as np

from fastcodec.integrations.rows import ENCODED_COLUMNS, decode_row, encode_row

INPUT_COLUMNS = ("path", "bytes", "image")


def _input_column(batch, column):
    if column is not None:
        if column not in batch:
            raise KeyError(f"column: the batch has no column {column!r} (it has {sorted(batch)})")
        return column
    for name in INPUT_COLUMNS:
        if name in batch:
            return name
    raise KeyError(f"column: the batch has none of {INPUT_COLUMNS} (it has {sorted(batch)}); pass column=")


def _object_array(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class FastcodecEncoder:
    """Callable class for `Dataset.map_batches` (batch_format "numpy", the default): loads the
    model once per actor, encodes each row's image, adds the columns fcx, size, bpp, height, width
    and error."""

    def __init__(self, model=None, quality=None, column=None, refine=0):
        from fastcodec.api import load

        self.codec = load(model, quality, refine=refine)
        self.column = column

    def __call__(self, batch):
        column = _input_column(batch, self.column)
        rows = [encode_row(self.codec, item) for item in batch[column]]
        out = {k: v for k, v in batch.items() if k not in ("bytes", "image")}
        for key in ENCODED_COLUMNS:
            values = [r[key] for r in rows]
            out[key] = _object_array(values) if key in ("fcx", "error") else np.asarray(values)
        return out


class FastcodecDecoder:
    """Callable class for `Dataset.map_batches`: decodes the column "fcx" (or `column`) to an
    "image" column of uint8 arrays and an "error" column; `model` as for fastcodec.decode."""

    def __init__(self, model=None, column="fcx"):
        self.model = model
        self.column = column

    def __call__(self, batch):
        rows = [decode_row(blob, self.model) for blob in batch[self.column]]
        out = {k: v for k, v in batch.items() if k != "error"}
        out["image"] = _object_array([r["image"] for r in rows])
        out["error"] = _object_array([r["error"] for r in rows])
        return out


def _map(ds, cls, kwargs, actors, batch_size, num_cpus):
    import ray.data

    if actors < 1:
        raise ValueError(f"actors must be at least 1, got {actors}")
    if not num_cpus > 0:
        raise ValueError(f"num_cpus must be positive, got {num_cpus}")
    return ds.map_batches(cls, fn_constructor_kwargs=kwargs, compute=ray.data.ActorPoolStrategy(size=actors),
                          batch_size=batch_size, batch_format="numpy", num_cpus=num_cpus)


def encode_dataset(ds, model=None, quality=None, column=None, actors=2, batch_size=4, refine=0, num_cpus=1):
    """`ds` with its images encoded on `actors` actors of `num_cpus` CPUs each (Ray sets their
    torch threads to match): columns fcx (bytes), size, bpp, height, width, error ('' or the
    reason the row failed) beside the input's other columns. Lazy, as Ray datasets are: iterate,
    materialize() or write_*() it."""
    return _map(ds, FastcodecEncoder, {"model": model, "quality": quality, "column": column, "refine": refine},
                actors, batch_size, num_cpus)


def decode_dataset(ds, model=None, column="fcx", actors=2, batch_size=4, num_cpus=1):
    """`ds` with its column of container bytes decoded to uint8 arrays ("image") and "error"."""
    return _map(ds, FastcodecDecoder, {"model": model, "column": column}, actors, batch_size, num_cpus)
