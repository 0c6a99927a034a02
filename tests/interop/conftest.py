"""Fixtures for the interop tests (real peers). Each feature keeps its fixtures in its
own module and re-exports them here."""

from registry_fixtures import auth_registry, gbx_config, registry  # noqa: F401
