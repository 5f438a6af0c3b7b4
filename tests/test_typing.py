"""The package type-checks under ``mypy --strict`` (pyproject [tool.mypy]; STYLE C15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_is_clean() -> None:
    p = subprocess.run([sys.executable, "-m", "mypy", "analyzer"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
