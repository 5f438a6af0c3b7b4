"""Run the *Examples* of every parser module's docstring (insights-core style)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_common", "oslo", "libvirt", "kernel", "prefixes", "record", "structured"]


@pytest.mark.parametrize("name", MODULES)
def test_documentation(name: str) -> None:
    module = importlib.import_module(f"analyzer.parsers.{name}")
    assert module.__doc__ and "Examples:" in module.__doc__
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0
