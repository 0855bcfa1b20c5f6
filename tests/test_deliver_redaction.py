"""Secrets stay secret while delivery fails: a webhook URL carrying a token and an SMTP
password, both failing against real servers on 127.0.0.1, with every log record of every
library captured at DEBUG. Neither the logs, nor the errors, nor `watcher status` show them."""

from __future__ import annotations

import logging
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.scenario import REPO, watcher_cmd
from tests.support.smtp import TlsCert, self_signed_cert, smtp_server
from tests.support.webhook_receiver import webhook_receiver
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.pipeline.digest import sample_digest
from watcher.storage import Store
from watcher.types import Claim, FigureChange, FigureRecord

NOW = datetime(2026, 11, 28, 7, tzinfo=timezone.utc)
PATH_TOKEN = "XoXb8Kq2Lm5Np7Rs9Tu1Vw3Yz4"  # a Slack-style token in the URL path
QUERY_TOKEN = "qT0k3n-in-the-query-string"
USER_PASSWORD = "u5er1nfo-pa55"
SMTP_PASSWORD = "sm7p-Pa55w0rd!"
WEBHOOK_SECRET = "signing-secret-value-123"
SECRETS = (PATH_TOKEN, QUERY_TOKEN, USER_PASSWORD, SMTP_PASSWORD, WEBHOOK_SECRET)


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TlsCert:
    tls = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.cert_file))
    return tls


def write_config(tmp_path: Path, hook_url: str, smtp_port: int) -> Path:
    url = hook_url.replace("http://", f"http://bot:{USER_PASSWORD}@").replace(
        "/hook", f"/services/T0001/B0002/{PATH_TOKEN}") + f"?token={QUERY_TOKEN}"
    path = tmp_path / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp_path / 'w.db'}
channels:
  - id: ops
    type: webhook
    url: "{url}"
    secret: "${{WEBHOOK_SECRET}}"
  - id: desk
    type: email
    to: [desk@example.org]
    from: watcher@example.org
    smtp: {{host: 127.0.0.1, port: {smtp_port}, username: watcher,
            password: "${{SMTP_PASSWORD}}"}}
""", encoding="utf-8")
    return path


def queue_a_change(database: str) -> None:
    claim = Claim("killed", 600, None, "approx", "NIS", "quote", (0, 3), "en")
    with Store(database) as store, store.transaction():
        claim_id = store.claims.add("dprk", claim, article_id=None, published=NOW, now=NOW)
        change = FigureChange("c1", "dprk", "DPRK troops", "killed", "new", None,
                              FigureRecord(600, None, "approx", "NIS", NOW, "quote"), "first")
        store.outbox.record_change(change, alert=True, claim_id=claim_id,
                                   previous_claim_id=None, channels=["ops", "desk"], now=NOW)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_failing_deliveries_never_show_tokens_or_passwords(tmp_path, cert, caplog):
    caplog.set_level(logging.DEBUG)  # everything, urllib3's request lines included
    env = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "SMTP_PASSWORD": SMTP_PASSWORD}
    with webhook_receiver([500]) as hook, \
            smtp_server(tls="starttls", cert=cert, auth=("watcher", "another")) as smtp:
        config = write_config(tmp_path, hook.url, smtp.port)
        settings = load_settings(config, env=env)
        queue_a_change(settings.database)
        watcher = make_watcher(settings, clock=lambda: NOW)
        reports = watcher.deliver(["ops", "desk"])
        watcher.close()
        status = subprocess.run(watcher_cmd("--config", str(config), "status"), cwd=REPO,
                                text=True, capture_output=True, timeout=60, env=env).stdout
    assert [r.ok for r in reports] == [False, False]
    assert len(hook.requests) == 1 and set(smtp.failed_logins) == {"watcher"}  # they did fail
    errors = " ".join(r.error or "" for r in reports)
    assert "500" in errors and "rejected the login" in errors
    assert "/services/T0001/B0002/REDACTED?token=REDACTED" in errors  # still says where
    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the test SMTP server's
    assert any("answered 500" in r.getMessage() for r in ours)
    assert any(r.name.startswith("urllib3") and "REDACTED" in r.getMessage() for r in ours)
    assert leaked("\n".join(r.getMessage() for r in ours)) == []
    assert leaked(errors) == [] and leaked(status) == []
    assert "answered 500" in status


def test_secrets_are_scrubbed_from_any_library_log_record(caplog):
    from watcher.deliver.redact import register_secrets

    register_secrets(["a-registered-secret-42"])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "POST /hook?token=%s HTTP/1.1" 500', "http://127.0.0.1", "a-registered-secret-42")
    assert "a-registered-secret-42" not in caplog.text and "token=REDACTED" in caplog.text


def test_a_test_digest_error_hides_the_url_token(tmp_path):
    from watcher.deliver import make_deliverer
    from watcher.config.models import WebhookChannel
    from watcher.exceptions import DeliveryError

    with webhook_receiver([404]) as hook:
        url = hook.url + f"/{PATH_TOKEN}"
        channel = WebhookChannel.model_validate({"id": "ops", "type": "webhook", "url": url})
        with pytest.raises(DeliveryError) as caught:
            make_deliverer(channel).send(sample_digest("ops", NOW))
    assert PATH_TOKEN not in str(caught.value) and "404" in str(caught.value)
