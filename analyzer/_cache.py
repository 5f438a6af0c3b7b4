"""Where nma keeps derived, rebuildable data (compiled scan databases, parsed catalogues).

``$NMA_CACHE_DIR`` (empty string: no cache), else ``$XDG_CACHE_HOME/nma``, else ``~/.cache/nma``.
Everything here is keyed by a content hash, so a stale entry is never used; deleting the
directory only costs the next run a recompile (about 1 s for the catalogue's YAML).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["default_cache_dir", "load_pickle", "store_pickle"]


def default_cache_dir() -> Path | None:
    env = os.environ.get("NMA_CACHE_DIR")
    if env == "":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nma"


def load_pickle(name: str) -> Any | None:
    d = default_cache_dir()
    if d is None:
        return None
    try:
        with open(d / name, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache files, keyed by content hash
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def store_pickle(name: str, obj: Any) -> None:
    d = default_cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f"{name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(d / name)
    except OSError:
        pass  # the cache is an optimisation only
