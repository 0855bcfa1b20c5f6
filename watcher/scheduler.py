"""`watcher run`: the daemon loop. APScheduler is used as a timer only.

What to poll next lives in the store (`feeds.next_poll_at`), so a restart resumes
where it stopped: one `tick` job every second polls the feeds that are due, sends
what `immediate` channels have waiting and retries deliveries whose time has come.
Cron channels get a job each that gathers their digest at the scheduled time
(in the server's local time zone, as cron users expect).

Signals only set flags; the main thread acts on them:
SIGTERM/SIGINT → let the job in hand finish (the poll stops between feeds), exit 0;
SIGHUP → reload the config; an invalid config is logged and the old one kept.

A cron digest whose time passed while the daemon was down is sent when it starts: if a
fire time of the channel's schedule lies between its oldest waiting change and now.
With `http:` in the config, /healthz, /readyz and /metrics are served
(`watcher.observability`); the jobs feed the metrics with the reports they get back.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import Watcher, make_watcher
from watcher.config.models import Settings
from watcher.deliver.outbox import SendReport
from watcher.exceptions import ConfigError, WatcherError
from watcher.logs import register_settings_secrets
from watcher.observability import Metrics, StatusServer
from watcher.storage import Store
from watcher.storage.engine import acquire_instance_lock

log = logging.getLogger("watcher.daemon")

TICK_SECONDS = 1.0
PRUNE_DELAY = timedelta(minutes=5)  # the first retention pass, after start-up has settled


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
        self.scheduler: BackgroundScheduler | None = None
        self.metrics = Metrics(self._store, self._channel_ids)

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop cleanly; the exit code (0)."""
        settings = self.loader()
        register_settings_secrets(settings)
        lock = acquire_instance_lock(settings.database)
        server = None
        try:
            self.watcher = self.factory(settings)
            server = self._start_server(settings)
            self._install_signal_handlers()
            self._serve(settings)
        finally:
            if server:
                server.stop()
            if self.watcher:
                self.watcher.close()
            lock.release()
        log.info("watcher stopped")
        return 0

    def _serve(self, settings: Settings) -> None:
        scheduler = self.scheduler = BackgroundScheduler(
            timezone="UTC", executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
        self._catch_up()  # before "running": digests missed while stopped go out first
        self._schedule(scheduler, settings)
        scheduler.start()
        log.info("watcher running (pid %d): %d feeds, %d topics, %d channels; config %s",
                 os.getpid(), len(settings.feeds), len(settings.topics), len(settings.channels),
                 self.config_path)
        try:
            self._main_loop(scheduler)
        finally:
            scheduler.shutdown(wait=True)  # the job in hand finishes first

    def _start_server(self, settings: Settings) -> StatusServer | None:
        if settings.http is None:
            return None
        server = StatusServer(settings.http.listen, self.metrics, self.ready)
        server.start()
        return server

    def _store(self) -> Store | None:
        return self.watcher.store if self.watcher else None

    def _channel_ids(self) -> list[str]:
        return [c.id for c in self.watcher.settings.channels] if self.watcher else []

    def ready(self) -> str | None:
        """None when ready (the scheduler runs and the database answers), else why not."""
        if self.scheduler is None or not self.scheduler.running or self._stop.is_set():
            return "the scheduler is not running"
        store = self._store()
        if store is None:
            return "no database yet"
        try:
            store.feeds.all()
        except WatcherError as e:
            return f"the database does not answer: {e}"
        return None

    def _main_loop(self, scheduler: BackgroundScheduler) -> None:
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self._reload_config(scheduler)

    def _schedule(self, scheduler: BackgroundScheduler, settings: Settings) -> None:
        scheduler.add_job(self._tick, IntervalTrigger(seconds=TICK_SECONDS), id="tick",
                          replace_existing=True)
        scheduler.add_job(self._prune, IntervalTrigger(hours=24), id="prune",
                          next_run_time=datetime.now(UTC) + PRUNE_DELAY,
                          replace_existing=True)
        for channel in settings.channels:
            if channel.schedule.strip() == "immediate":
                continue
            trigger = CronTrigger.from_crontab(channel.schedule)  # local time zone
            scheduler.add_job(self._cron_digest, trigger, args=[channel.id],
                              id=f"digest:{channel.id}", replace_existing=True)

    def _prune(self) -> None:
        """Once a day: empty article bodies past `retention.article_text` (claims stay)."""
        with self._busy:
            assert self.watcher is not None
            try:
                pruned = self.watcher.prune()
                if pruned:
                    log.info("retention: emptied the text of %d old articles", pruned)
            except WatcherError as e:
                log.error("retention: %s", e)

    def _tick(self) -> None:
        with self._busy:
            watcher = self.watcher
            assert watcher is not None
            try:
                started = watcher.clock()
                report = watcher.poll(only_due=True, should_stop=self._stop.is_set)
                self.metrics.record_poll(report, watcher.store, started)
                self.metrics.record_sends(watcher.deliver_immediate())
            except WatcherError as e:
                log.error("%s", e)
            except Exception:  # a bug must not kill the daemon; say so loudly
                log.exception("unexpected error in the polling job")

    def _cron_digest(self, channel_id: str) -> None:
        with self._busy:
            assert self.watcher is not None
            try:
                reports = self.watcher.deliver([channel_id])
                self.metrics.record_sends(reports)
                log.info("channel %s: scheduled digest, %d sent", channel_id,
                         sum(1 for r in reports if r.ok))
            except WatcherError as e:
                log.error("channel %s: %s", channel_id, e)

    def _catch_up(self) -> None:
        with self._busy:
            try:
                self.metrics.record_sends(self.send_missed_digests())
            except WatcherError as e:
                log.error("catching up on missed digests: %s", e)

    def send_missed_digests(self) -> list[SendReport]:
        """Send each cron channel's digest whose time passed while the daemon was down:
        one whose schedule fired since its oldest waiting change was queued."""
        assert self.watcher is not None
        watcher, reports = self.watcher, []
        now = watcher.clock()
        for channel in watcher.settings.channels:
            if channel.schedule.strip() == "immediate":
                continue
            oldest = watcher.store.outbox.oldest_undigested(channel.id)
            if oldest is None or not _fired_between(channel.schedule, oldest, now):
                continue
            sent = watcher.deliver([channel.id])
            log.info("channel %s: digest due at %s missed while stopped, %d sent now", channel.id,
                     _fire_time(channel.schedule, oldest), sum(1 for r in sent if r.ok))
            reports += sent
        return reports

    def _reload_config(self, scheduler: BackgroundScheduler) -> None:
        try:
            settings = self.loader()
        except ConfigError as e:
            log.error("SIGHUP: config %s is invalid, keeping the running one: %s",
                      self.config_path, "; ".join(str(p) for p in e.problems))
            return
        register_settings_secrets(settings)
        with self._busy:
            assert self.watcher is not None
            if settings.http != self.watcher.settings.http:
                log.warning("SIGHUP: a changed `http` section takes effect after a restart")
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


def _fire_time(schedule: str, after: datetime) -> datetime | None:
    """The first time the cron `schedule` fires at or after `after` (local time zone)."""
    return CronTrigger.from_crontab(schedule).get_next_fire_time(None, after)


def _fired_between(schedule: str, since: datetime, now: datetime) -> bool:
    fire = _fire_time(schedule, since)
    return fire is not None and fire <= now
