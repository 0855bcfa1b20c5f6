"""`watcher run`: the daemon loop. APScheduler is used as a timer only.

What to poll next lives in the store (`feeds.next_poll_at`), so a restart resumes
where it stopped: one `tick` job every second polls the feeds that are due, sends
what `immediate` channels have waiting and retries deliveries whose time has come.
Cron channels get a job each that gathers their digest at the scheduled time
(in the server's local time zone, as cron users expect).

Signals only set flags; the main thread acts on them:
SIGTERM/SIGINT → let the job in hand finish (the poll stops between feeds), exit 0;
SIGHUP → reload the config; an invalid config is logged and the old one kept.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import Watcher, make_watcher
from watcher.config.models import Settings
from watcher.exceptions import ConfigError, StorageError, WatcherError
from watcher.storage.engine import instance_lock_path

log = logging.getLogger("watcher.daemon")

TICK_SECONDS = 1.0


class Daemon:
    def __init__(self, config_path: Path, loader: Callable[[], Settings],
                 factory: Callable[[Settings], Watcher] = make_watcher):
        self.config_path = config_path
        self.loader = loader
        self.factory = factory
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._busy = threading.Lock()  # a job and a reload never overlap
        self.watcher: Watcher | None = None

    def run(self) -> int:
        settings = self.loader()
        lock = acquire_instance_lock(settings.database)
        self.watcher = self.factory(settings)
        self._install_signal_handlers()
        scheduler = BackgroundScheduler(
            timezone="UTC", executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
        self._schedule(scheduler, settings)
        scheduler.start()
        log.info("watcher running (pid %d): %d feeds, %d topics, %d channels; config %s",
                 os.getpid(), len(settings.feeds), len(settings.topics), len(settings.channels),
                 self.config_path)
        try:
            self._main_loop(scheduler)
        finally:
            scheduler.shutdown(wait=True)  # the job in hand finishes first
            self.watcher.close()
            if lock:
                lock.close()
        log.info("watcher stopped")
        return 0

    def _main_loop(self, scheduler: BackgroundScheduler) -> None:
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self._reload_config(scheduler)

    def _schedule(self, scheduler: BackgroundScheduler, settings: Settings) -> None:
        scheduler.add_job(self._tick, IntervalTrigger(seconds=TICK_SECONDS), id="tick",
                          replace_existing=True)
        for channel in settings.channels:
            if channel.schedule.strip() == "immediate":
                continue
            trigger = CronTrigger.from_crontab(channel.schedule)  # local time zone
            scheduler.add_job(self._cron_digest, trigger, args=[channel.id],
                              id=f"digest:{channel.id}", replace_existing=True)

    def _tick(self) -> None:
        with self._busy:
            watcher = self.watcher
            assert watcher is not None
            try:
                watcher.poll(only_due=True, should_stop=self._stop.is_set)
                watcher.deliver_immediate()
            except WatcherError as e:
                log.error("%s", e)
            except Exception:  # a bug must not kill the daemon; say so loudly
                log.exception("unexpected error in the polling job")

    def _cron_digest(self, channel_id: str) -> None:
        with self._busy:
            assert self.watcher is not None
            try:
                reports = self.watcher.deliver([channel_id])
                log.info("channel %s: scheduled digest, %d sent", channel_id,
                         sum(1 for r in reports if r.ok))
            except WatcherError as e:
                log.error("channel %s: %s", channel_id, e)

    def _reload_config(self, scheduler: BackgroundScheduler) -> None:
        try:
            settings = self.loader()
        except ConfigError as e:
            log.error("SIGHUP: config %s is invalid, keeping the running one: %s",
                      self.config_path, "; ".join(str(p) for p in e.problems))
            return
        with self._busy:
            assert self.watcher is not None
            if settings.database != self.watcher.settings.database:
                log.error("SIGHUP: changing `database` needs a restart; keeping the running config")
                return
            old = self.watcher
            self.watcher = self.factory(settings)
            old.close()
            for job in scheduler.get_jobs():
                job.remove()
            self._schedule(scheduler, settings)
        log.info("SIGHUP: config reloaded: %d feeds, %d topics, %d channels",
                 len(settings.feeds), len(settings.topics), len(settings.channels))

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def stop(self) -> None:
        self._stop.set()


def acquire_instance_lock(database_url: str) -> IO | None:
    """One daemon per database: an exclusive lock on a file next to the SQLite file."""
    path = instance_lock_path(database_url)
    if path is None:
        return None
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        other = handle.read().strip() or "another process"
        handle.close()
        raise StorageError(f"another `watcher run` (pid {other}) is already using {database_url}; "
                           f"stop it first, or give this one another database") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
