"""Shared test settings. Loopback servers live in tests/support/, one module each."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# CI machines are small and sometimes busy: judge properties, not speed (speed is measured
# by benchmarks/, never by unit tests).
settings.register_profile("watcher", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("watcher")
