"""Integer coding tables in a weights file, so every machine codes with the same tables. Stored
ragged (each row's used cdf entries one after another, `rows`, with `lengths` and `offsets`), not as
the padded [tables, max_length] array the coder takes: a factorized model's 1,536 rows of 63,088
entries in all pad to 1,536 x 838 (5.1 MB of int32; 0.25 MB ragged). Files that hold the padded
array (`cdfs`) load the same."""
import numpy as np
import torch

from fastcodec.coding import CdfTable


def tables_state(tables, prefix):
    """{prefix + name + field: int32 tensor} of {name: CdfTable}."""
    out = {}
    for name, table in tables.items():
        cdfs, lengths = np.asarray(table.cdfs), np.asarray(table.lengths)
        rows = np.concatenate([cdfs[t, :n] for t, n in enumerate(lengths)])
        out[f"{prefix}{name}.rows"] = torch.from_numpy(rows.astype(np.int32))
        for field in ("lengths", "offsets"):
            out[f"{prefix}{name}.{field}"] = torch.from_numpy(np.array(getattr(table, field)))
    return out


def load_tables(tensors, prefix, precision=16):
    """{name: CdfTable} of tables_state() tensors under `prefix`; ValueError for inconsistent ones."""
    names = {k[len(prefix):].rsplit(".", 1)[0] for k in tensors if k.startswith(prefix)}
    out = {}
    for name in sorted(names):
        get = lambda f: np.ascontiguousarray(tensors[f"{prefix}{name}.{f}"].numpy().astype(np.int32))
        lengths = get("lengths")
        if f"{prefix}{name}.rows" in tensors:
            rows = get("rows")
            if rows.ndim != 1 or lengths.ndim != 1 or np.any(lengths < 2) or rows.size != int(lengths.sum(dtype=np.int64)):
                raise ValueError(f"coding table {name!r}: {rows.size} entries do not fill rows of lengths {lengths.tolist()[:8]}...")
            # padding as the coder's own tables have it: the row's total, 2**precision
            cdfs = np.full((lengths.size, int(lengths.max())), 1 << precision, np.int32)
            starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]])
            for t, (a, n) in enumerate(zip(starts, lengths)):
                cdfs[t, :n] = rows[a:a + n]
        else:
            cdfs = get("cdfs")
        out[name] = CdfTable(cdfs, lengths, get("offsets"), precision)
    return out
