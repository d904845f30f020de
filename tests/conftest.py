"""Shared test fixtures.

The real datasets are looked up in $TUNEBENCH_DATA, then in ../shared/datasets beside the
repository; tests that need them are skipped when neither has them.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _real_data_dir() -> Path | None:
    candidates = []
    if os.environ.get("TUNEBENCH_DATA"):
        candidates.append(Path(os.environ["TUNEBENCH_DATA"]))
    candidates.append(REPO_ROOT.parent / "shared" / "datasets")
    for candidate in candidates:
        if (candidate / "mnist.npz").is_file() and (candidate / "fer2013.npz").is_file():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The directory holding the real fer2013.npz and mnist.npz, or skip the test."""
    found = _real_data_dir()
    if found is None:
        pytest.skip("real datasets not found (set TUNEBENCH_DATA or provide ../shared/datasets)")
    return found
