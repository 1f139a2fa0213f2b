"""Kodak is the final report, never fitted on nor chosen with: the training tools refuse it.

Every tool that fits weights or chooses something from photos calls refuse_kodak() on its photo
arguments: `fastcodec train` (--data, --val-dirs), `fastcodec.train.export --calibration`,
fit_density and fit_gains (--data), valcurve (--data, --dirs) and the recipe (--data,
--calibration, --val). Fit on ../shared/data/train, choose on ../shared/data/val; `fastcodec eval`
measures Kodak and does not call this.

A path is Kodak when the name of a folder or file on it starts with "kodak" (any case: kodak,
Kodak24, kodak_png; the target of a link too), or when it is, or a folder holds anywhere below
it, an image named like the set's files (kodim01.png ... kodim24.png)."""
import re
from pathlib import Path

_KODIM = re.compile(r"kodim\d+", re.IGNORECASE)
_HINT = ("Kodak is kept for the final report (fastcodec eval): fit on ../shared/data/train and "
         "choose on ../shared/data/val")


def why_kodak(path):
    """Why `path` (a folder or an image, existing or not) is Kodak, or None."""
    path = Path(path)
    candidates = [path] + ([path.resolve()] if path.exists() else [])
    for candidate in candidates:
        for part in candidate.parts:
            if part.lower().startswith("kodak"):
                return f"{part!r} is on its path"
    if _KODIM.fullmatch(path.stem):
        return f"{path.name} is a Kodak file name"
    if path.is_dir():
        from fastcodec.eval.images import list_images

        for image in list_images(path):
            if _KODIM.fullmatch(image.stem):
                return f"it holds {image.relative_to(path)}, a Kodak file name"
    return None


def refuse_kodak(argument, *paths):
    """SystemExit naming `argument` when one of `paths` is Kodak (see the module's docstring)."""
    for path in paths:
        reason = why_kodak(path)
        if reason is not None:
            raise SystemExit(f"{argument}: {path} is Kodak ({reason}); {_HINT}")
