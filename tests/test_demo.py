"""`watcher demo` as a new user runs it: offline, exit 0, real emails and webhooks on disk."""

from __future__ import annotations

import json
import subprocess
from email import message_from_bytes, policy

import pytest

from tests.support.scenario import REPO, watcher_cmd


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run, as a new user starts it, shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run(watcher_cmd("demo", "--output", str(folder)), cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    return folder, result


def test_demo_runs_the_story_offline_and_says_where_its_outputs_are(demo):
    tmp_path, result = demo
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("── Step") == 5
    assert str(tmp_path) in out and "figures --explain" in out

    emails = sorted((tmp_path / "mail").glob("*.eml"))
    hooks = sorted((tmp_path / "webhooks").glob("*.json"))
    assert len(emails) >= 4 and len(hooks) == len(emails)
    bodies = [json.loads(h.read_text())["body"] for h in hooks]
    changes = [c for b in bodies for c in b["changes"]]
    # the founding story: killed went from about 600 to about 2,000 in the end
    killed = [c for c in changes if c["metric"] == "killed"]
    assert killed[-1]["current"]["value"] == 2000 and killed[-1]["previous"]["value"] == 600
    # …revised by Seoul's agency, named in English now and in Italian before: a change
    assert killed[-1]["kind"] == "changed"
    assert killed[-1]["current"]["source"] == "South Korea's spy agency"  # as written
    assert killed[-1]["previous"]["source"] == "servizi segreti sudcoreani"
    # nothing about the weather or football stories reached anyone
    assert all(c["topic"] == "dprk-troops" for c in changes)

    first = message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert first.get_content_type() == "multipart/alternative"
    assert {p.get_content_type() for p in first.iter_parts()} == {"text/plain", "text/html"}


def _step(out: str, number: int) -> str:
    return out.split(f"── Step {number} ·")[1].split("── Step")[0].split("What watcher knows")[0]


def test_the_last_step_reads_seouls_agency_in_two_languages_as_one_source(demo):
    _, result = demo
    last = _step(result.stdout, 5)
    assert ("↑ changed      killed: about 600 → about 2,000 — South Korea's spy agency [wire-en]\n"
            "     ↳ South Korea's spy agency and servizi segreti sudcoreani read as one source: "
            "South Korea's National Intelligence Service (aliases under `sources:`)") in last
    assert "conflict" not in last
    # two different agencies (Seoul's, Kyiv's) within a week still disagree
    assert "! conflict     killed: about 300 → about 1,000 — renseignement militaire ukrainien" \
        in _step(result.stdout, 2)


def test_the_demo_config_it_leaves_behind_works_with_the_other_commands(demo):
    tmp_path, result = demo
    assert result.returncode == 0, result.stderr
    config = str(tmp_path / "watcher.yaml")
    figures = subprocess.run(watcher_cmd("--config", config, "figures", "--json"), cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert figures.returncode == 0, figures.stderr
    metrics = {f["metric"]: f for f in json.loads(figures.stdout)}
    assert metrics["killed"]["current"]["value"] == 2000
    assert metrics["deployed"]["current"]["value"] == 15000
    status = subprocess.run(watcher_cmd("--config", config, "status"), cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "agenzia-it" in status.stdout
    explain = subprocess.run(watcher_cmd("--config", config, "figures", "--metric", "killed",
                                         "--explain"), cwd=REPO, capture_output=True, text=True,
                             timeout=60)
    assert explain.returncode == 0, explain.stderr
    assert ("changed: differs from 600 (servizi segreti sudcoreani, 2025-10-24); South Korea's spy "
            "agency and servizi segreti sudcoreani read as one source") in explain.stdout
