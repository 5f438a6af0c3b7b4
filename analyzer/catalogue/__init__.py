"""The pattern catalogue: YAML data files in ``patterns/``, validated and loaded once."""

from __future__ import annotations

from .loader import Catalogue, default_patterns_dir, load_catalogue
from .schema import MARKS, STAGES, TAXONOMY, Pattern, Sample

__all__ = ["Catalogue", "Pattern", "Sample", "load_catalogue", "default_patterns_dir",
           "MARKS", "STAGES", "TAXONOMY"]
