"""The shipped models: a manifest (name, architecture, configuration, qualities, training record,
sha256) and fp16 safetensors weights inside the package. Nothing is downloaded."""
import hashlib
import json
from functools import lru_cache
from pathlib import Path

ZOO_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = ZOO_DIR / "weights"
MANIFEST = ZOO_DIR / "manifest.json"


@lru_cache(maxsize=1)
def manifest():
    """{name: entry} of the shipped models."""
    if not MANIFEST.exists():
        return {}
    return {entry["name"]: entry for entry in json.loads(MANIFEST.read_text())["models"]}


def list_models():
    """Names of the shipped models, sorted."""
    return sorted(manifest())


#: weights files registered at run time (register()): {name: (resolved path, 4-byte model id)}
_REGISTERED = {}


def register(path, name=None):
    """Makes a weights file known by name and by the model id its containers carry, so that
    fastcodec.decode, the Pillow plugin and `fastcodec info` find it without model=. The id is that
    of the file as it is now (hashed once, here). Returns the name (default: the file's stem)."""
    from fastcodec.bitstream.header import model_id

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no weights file at {path}")
    name = name or path.stem
    if name in manifest():
        raise ValueError(f"name {name!r} is a shipped model's")
    _REGISTERED[name] = (path.resolve(), model_id(name, sha256_file(path)))
    return name


def model_ids():
    """{4-byte model id: shipped name or registered weights path} of every model this process knows."""
    from fastcodec.bitstream.header import model_id

    ids = {model_id(name, e["sha256"]): name for name, e in manifest().items()}
    ids.update({mid: str(path) for path, mid in _REGISTERED.values()})
    return ids


def identify(name_or_path):
    """(display name, cache key, 4-byte model id) of a shipped name, a registered name or path, or
    another weights file (hashed)."""
    from fastcodec.bitstream.header import model_id

    entry = manifest().get(str(name_or_path))
    if entry is not None:
        return entry["name"], entry["name"], model_id(entry["name"], entry["sha256"])
    if str(name_or_path) in _REGISTERED:
        path, mid = _REGISTERED[str(name_or_path)]
        return str(name_or_path), str(path), mid
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(f"unknown model {name_or_path!r}: not a shipped name ({', '.join(list_models())}) nor a file")
    for name, (registered, mid) in _REGISTERED.items():
        if registered == path.resolve():
            return name, str(registered), mid
    return path.stem, str(path.resolve()), model_id(path.stem, sha256_file(path))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: tensor groups that are one unit (integer networks, coding tables)
GROUPS = ("int_h_s.", "int_ctx.", "tables.")


def load_weights(path, _depth=0):
    """(architecture, config, float32 state_dict) from a fastcodec safetensors file. A file with a
    "base" in its metadata holds only the tensors that differ from that model's (shared transforms):
    the base file, in the same folder and with the recorded sha256, supplies the rest."""
    from safetensors import safe_open

    tensors = {}
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        for key in f.keys():
            t = f.get_tensor(key)
            tensors[key] = t if not t.is_floating_point() else t.float()
    if "architecture" not in meta:
        raise ValueError(f"{path} is not a fastcodec weights file (no 'architecture' in its metadata)")
    if meta.get("base"):
        base_path = Path(path).parent / f"{meta['base']}.safetensors"
        if _depth > 4 or not base_path.exists():
            raise ValueError(f"{path} needs its base model {meta['base']!r} ({base_path} not found)")
        if sha256_file(base_path) != meta.get("base_sha256"):
            raise ValueError(f"{path} was exported against another version of {meta['base']!r}; re-export it")
        _, _, base = load_weights(base_path, _depth + 1)
        shared = json.loads(meta.get("shared_tensors", "[]"))
        missing = [k for k in shared if k not in base]
        if missing:
            raise ValueError(f"{path}: its base lacks shared tensors {missing[:3]}")
        tensors = {**{k: base[k] for k in shared}, **tensors}
    return meta["architecture"], json.loads(meta.get("config", "{}")), tensors


def _resolve(name_or_path):
    """The weights file of a shipped name (checked against the manifest's sha256) or a path."""
    entry = manifest().get(str(name_or_path))
    if entry is not None:
        path = WEIGHTS_DIR / entry["file"]
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise ValueError(f"weights of {entry['name']} do not match the manifest (sha256 {digest})")
        return path
    path = Path(name_or_path)
    if not path.exists():
        known = ", ".join(list_models()) or "none"
        raise ValueError(f"unknown model {name_or_path!r}: not a shipped name ({known}) nor a file")
    return path


def _float_model(path):
    """(model with the float weights of `path` loaded strictly, the file's full state)."""
    from fastcodec.models import build

    from fastcodec.zoo.skip_init import skip_init

    arch, config, state = load_weights(path)
    with skip_init():   # every parameter is loaded below, strictly
        model = build(arch, **config)
    extra = tuple(model.extra_state_prefixes)
    model.load_state_dict({k: v for k, v in state.items() if not (extra and k.startswith(extra))})
    return model, state


def load_float_model(name_or_path):
    """A model with only the float weights of a shipped name or a .safetensors path, for fitting:
    the coding tables and integer networks a zoo file also holds are left out (the export rebuilds
    them from the float weights). Shipped weights are checked against the manifest's sha256."""
    return _float_model(_resolve(name_or_path))[0]


def save_float_weights(model, path, metadata=None):
    """Write `model`'s whole state in float32 with its architecture and configuration (and any
    further string `metadata`), a file that load_float_model / load_model / `--init` read back (the
    working format of the training tools; the zoo's own fp16 files are written by
    fastcodec.train.export). Returns the state written."""
    from safetensors.torch import save_file

    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    meta = {**(metadata or {}), "architecture": model.name, "config": json.dumps(model.config())}
    save_file(state, str(path), metadata=meta)
    return state


def load_model(name_or_path):
    """A model in eval mode from a shipped name or a .safetensors path. Shipped weights are checked
    against the manifest's sha256."""
    model, state = _float_model(_resolve(name_or_path))
    extra = tuple(model.extra_state_prefixes)
    model.load_extra_state({k: v for k, v in state.items() if extra and k.startswith(extra)})
    return model.eval()
