"""Shared fixtures: isolated build cache and output directories per test session."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep standalone build slots of the test session out of the user's cache."""
    root = tmp_path_factory.mktemp("build-cache")
    old = os.environ.get("LOCALLEARN_BUILD_CACHE")
    os.environ["LOCALLEARN_BUILD_CACHE"] = str(root)
    yield
    if old is None:
        os.environ.pop("LOCALLEARN_BUILD_CACHE", None)
    else:
        os.environ["LOCALLEARN_BUILD_CACHE"] = old


def run_cli(*args, timeout=900, env=None):
    """Run ``python -m locallearn ARGS`` in a subprocess; returns CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "locallearn", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)
