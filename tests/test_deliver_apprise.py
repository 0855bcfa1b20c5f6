"""The optional `type: apprise` channel: a digest through Apprise's json:// service to a real
HTTP receiver on 127.0.0.1, and a clear `watcher check` error when Apprise is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.scenario import REPO
from tests.support.webhook_receiver import webhook_receiver
from watcher.config.models import AppriseChannel
from watcher.exceptions import DeliveryError
from watcher.pipeline.digest import sample_digest

NOW = datetime(2026, 11, 28, 7, tzinfo=timezone.utc)
TOKEN = "Zx81TopSecretToken0000000000abc"


def apprise_config(tmp_path: Path, url: str = "${PHONE_URL}") -> Path:
    path = tmp_path / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp_path / 'w.db'}
channels:
  - id: phones
    type: apprise
    urls: ["{url}"]
""", encoding="utf-8")
    return path


def check_without_apprise(config: Path) -> subprocess.CompletedProcess:
    """`watcher check` in a Python where `import apprise` fails, as on a plain install."""
    code = ("import sys; sys.modules['apprise'] = None\n"
            "from watcher.cli import main\n"
            f"sys.exit(main(['--config', {str(config)!r}, 'check']))")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, text=True,
                          capture_output=True, timeout=60, env={"PHONE_URL": "json://x/"})


def test_without_apprise_check_names_the_channel_and_the_fix(tmp_path):
    result = check_without_apprise(apprise_config(tmp_path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "watcher.yaml:5: channels[0].type:" in line
    assert "pip install 'watcher[apprise]'" in line and "Traceback" not in line


def test_watcher_imports_and_runs_other_channels_without_apprise(tmp_path):
    code = ("import sys; sys.modules['apprise'] = None\n"
            "import watcher.app, watcher.cli, watcher.deliver, watcher.scheduler\n"
            "print(sorted(watcher.deliver.CHANNEL_TYPES))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, text=True,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "apprise" in result.stdout  # listed in help, usable once installed


def _deliverer(url: str):  # type: ignore[no-untyped-def]
    pytest.importorskip("apprise")
    from watcher.deliver import make_deliverer

    channel = AppriseChannel.model_validate({"id": "phones", "type": "apprise", "urls": [url]})
    return make_deliverer(channel)


def test_a_digest_reaches_apprises_json_service(tmp_path):
    with webhook_receiver([200]) as hook:
        url = hook.url.replace("http://", "json://") + f"?token={TOKEN}"
        _deliverer(url).send(sample_digest("phones", NOW))
    [request] = hook.requests
    body = json.loads(request.body)
    assert body["title"].startswith("killed 600 → 2,000")
    assert "killed: 600 → 2,000 (+1,400, +233%)" in body["message"]
    assert "according to South Korean intelligence" in body["message"]
    assert body["message"].rstrip().endswith(sample_digest("phones", NOW).id)


def test_a_failing_service_is_retryable_and_the_error_shows_no_token():
    with webhook_receiver([503]) as hook:
        url = hook.url.replace("http://", "json://") + f"?token={TOKEN}"
        with pytest.raises(DeliveryError) as caught:
            _deliverer(url).send(sample_digest("phones", NOW))
    assert caught.value.retryable and "'phones'" in str(caught.value)
    assert TOKEN not in str(caught.value) and "127.0.0.1" not in str(caught.value)
