from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty asset cache for tests that must not touch the real one."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RETENTION_LIB_CACHE", str(cache))
    return cache
