"""Shared fixtures: paths to test assets and a clean logging state."""

from __future__ import annotations

from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def assets() -> Path:
    return ASSETS
