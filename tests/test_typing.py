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


def test_lazy_package_api_behaves_like_eager_imports() -> None:
    """`analyze`, `render`, `scan_inputs` and the report model are imported on first use (start-up
    of `nma scan`); to a user the package must look as if they were imported eagerly."""
    code = (
        "import sys, typing, analyzer\n"
        "assert 'analyzer.model' not in sys.modules and 'analyzer.api' not in sys.modules\n"
        "assert {'Report', 'Migration', 'Outcome', 'analyze', 'render', 'scan_inputs'} <= set(dir(analyzer))\n"
        "assert analyzer.model.Report is analyzer.Report\n"
        "assert typing.get_type_hints(analyzer.analyze)['return'] is analyzer.Report\n"
        "assert typing.get_type_hints(analyzer.render)['report'] is analyzer.Report\n"
        "assert typing.get_type_hints(analyzer.scan_inputs)['return'] is analyzer.scan.ScanResult\n"
        "from analyzer import *\n"
        "assert Outcome is analyzer.model.Outcome and callable(analyze)\n"
        "try:\n"
        "    analyzer.no_such_thing\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 0, p.stderr
