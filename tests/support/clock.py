"""The time a watcher under test believes it is: it stands still until the test moves it.

    clock = Clock(T0); w = make_watcher(settings, clock=clock); clock.advance(minutes=15)
"""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
