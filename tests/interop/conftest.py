"""Fixtures for the interop tests (real peers). Each feature keeps its fixtures in its
own module and re-exports them here."""

import pytest

from registry_fixtures import auth_registry, gbx_config, registry  # noqa: F401


@pytest.fixture
def daemon(gbx, tmp_path):
    """glassbox's daemon on the test's state root (tests/interop/test_daemon_docker.py)."""
    from test_daemon_docker import running_daemon
    with running_daemon(gbx, tmp_path) as d:
        yield d
