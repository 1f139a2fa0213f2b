"""A file of measured codec curves, reused only where the reuse is valid: an entry's key is the
sha256 of everything that decides the curve (the codec, its libraries' versions, its settings, the
pixels of the image set and the measuring code itself), so another folder, another library
version or another setting is a miss and is measured again, never answered from another set.

The file is JSON {"format": 1, "curves": {key: entry}}, written whole through a temporary file
(a reader never sees half a file; two runs writing at once keep the entries of the last)."""
import hashlib
import json
import os
from pathlib import Path

FORMAT = 1


def default_path():
    """$XDG_CACHE_HOME/fastcodec/codec_curves.json (~/.cache by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "fastcodec" / "codec_curves.json"


def _code_sha256():
    # the code that measures a curve: a change to a metric or to how a codec is called is a new key
    from fastcodec.eval import codecs, curves, metrics

    h = hashlib.sha256()
    for module in (codecs, curves, metrics):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def key(codec, library, settings, image_set_sha256):
    """The cache key: sha256 of the canonical JSON of what decides the curve."""
    what = {"format": FORMAT, "codec": codec, "library": library, "settings": settings,
            "image_set_sha256": image_set_sha256, "code_sha256": _code_sha256()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


class CurveCache:
    """The curves of one cache file (path None: an empty cache that stores nothing)."""

    def __init__(self, path):
        self.path = None if path is None else Path(path)
        self.curves = {}
        if self.path is not None and self.path.exists():
            try:
                data = json.loads(self.path.read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"cache: {self.path} is not a codec curve cache ({exc}); delete it or pass "
                                 "another --cache") from None
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"cache: {self.path} is not a format-{FORMAT} codec curve cache; delete it or "
                                 "pass another --cache")
            self.curves = data["curves"]

    def get(self, k):
        return self.curves.get(k)

    def put(self, k, entry):
        self.curves[k] = entry
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "curves": self.curves}, indent=1) + "\n")
        os.replace(tmp, self.path)
