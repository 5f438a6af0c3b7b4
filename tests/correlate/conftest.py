"""The ``make`` fixture: a fresh :class:`correlate_factory.Factory` per test.

The factory (hand-built records, findings and a fake catalogue, and why that faking is
acceptable here) lives in ``correlate_factory.py`` so that the tests can import its type.
"""

from __future__ import annotations

import pytest
from correlate_factory import Factory


@pytest.fixture
def make() -> Factory:
    return Factory()
