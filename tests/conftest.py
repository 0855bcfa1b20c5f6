"""Shared test settings. Loopback servers live in tests/support/, one module each."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.support.feed_server import FeedServer

# CI machines are small and sometimes busy: judge properties, not speed (speed is measured
# by benchmarks/, never by unit tests).
settings.register_profile("watcher", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("watcher")


@pytest.fixture
def srv():
    """A loopback feed server (tests/support/feed_server.py) for one test."""
    with FeedServer() as server:
        yield server
