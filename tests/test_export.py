"""`watcher export` on a database filled by the real pipeline (loopback feed server), run
as a user runs it: the CLI in a subprocess. On SQLite, and on PostgreSQL when
`WATCHER_TEST_POSTGRES_URL` is set."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.databases import BACKENDS, database_url, use_database
from tests.support.feed_server import FeedServer
from tests.support.scenario import REPO, Item, dprk_config, rss, watcher_cmd
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.export import CLAIM_COLUMNS, write

T0 = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)
# Feed text with what CSV must quote: commas and double quotes.
FIRST = Item("a", "Kursk, \"a meat grinder\"",
             'About 600 North Korean soldiers have been killed in Kursk, "mostly by drones", '
             "South Korea's intelligence service said.", T0)
LATER = Item("b", "Toll rises", "About 2,000 North Korean soldiers have been killed in Kursk, "
             "South Korea's intelligence service said.", T0 + timedelta(days=10))


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def config(tmp_path, database):
    """A database with two claims and two changes, filled by polling a real feed server."""
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([LATER, FIRST]))
        path = use_database(dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"),
                                        webhook_url="http://127.0.0.1:9/unused"), database)
        named = path.read_text().replace("    url:", "    name: Test Wire, Seoul\n    url:", 1)
        path.write_text(named)
        watcher = make_watcher(load_settings(path, env={}), clock=lambda: T0 + timedelta(days=30))
        try:
            watcher.poll()
        finally:
            watcher.close()
    return path


def export(config, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(watcher_cmd("--config", str(config), "export", *args), cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    return result


def test_claims_csv_has_a_header_and_round_trips_through_the_csv_module(config):
    result = export(config)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert list(rows[0]) == list(CLAIM_COLUMNS)
    assert [(r["metric"], r["value"], r["qualifier"]) for r in rows] == [
        ("killed", "600", "approx"), ("killed", "2000", "approx")]
    first = rows[0]
    assert '"mostly by drones"' in first["quote"] and "Kursk," in first["quote"]
    assert first["outlet"] == "Test Wire, Seoul"
    assert first["url"] == "https://news.example.org/a"
    assert first["published"] == "2025-10-20T09:00:00Z"
    assert first["value_max"] == "" and "intelligence service" in first["source"]


def test_claims_json_is_an_array_with_numeric_values_and_the_same_content(config):
    as_json = json.loads(export(config, "--format", "json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(export(config).stdout, newline="")))
    assert [c["value"] for c in as_json] == [600, 2000]
    assert all(type(c["value"]) is int and c["value_max"] is None for c in as_json)
    assert [c["quote"] for c in as_json] == [r["quote"] for r in as_csv]


def test_changes_show_kind_alert_previous_and_current_figures(config):
    changes = json.loads(export(config, "--what", "changes", "--format", "json").stdout)
    assert [(c["kind"], c["alerted"], c["previous_value"], c["current_value"], c["delta"])
            for c in changes] == [("new", True, None, 600, None),
                                  ("changed", True, 600, 2000, 1400)]
    assert changes[1]["reason"] and changes[1]["created"] == "2025-11-19T09:00:00Z"
    rows = list(csv.DictReader(io.StringIO(export(config, "--what", "changes").stdout, newline="")))
    assert [(r["kind"], r["alerted"], r["previous_value"]) for r in rows] == [
        ("new", "true", ""), ("changed", "true", "600")]


def test_since_and_topic_narrow_the_export_and_output_goes_to_a_file(config, tmp_path):
    out = tmp_path / "recent.csv"
    result = export(config, "--since", "2025-10-25", "--topic", "dprk-troops", "-o", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert "wrote 1 claims to" in result.stderr
    with open(out, newline="", encoding="utf-8") as f:
        assert [r["value"] for r in csv.DictReader(f)] == ["2000"]


def test_an_unknown_topic_or_a_bad_date_is_a_usage_error(config):
    unknown = export(config, "--topic", "dprk-trops")
    assert unknown.returncode == 2 and "dprk-troops" in unknown.stderr
    bad = export(config, "--since", "last week")
    assert bad.returncode == 2 and "2025-10-01" in bad.stderr


def test_text_with_newlines_quotes_and_formulas_survives_csv_and_cannot_run_as_a_formula():
    row = dict.fromkeys(CLAIM_COLUMNS, None) | {
        "value": 600, "quote": 'Line one, "quoted";\nline two\r\nline three',
        "source": "=HYPERLINK(\"http://evil\")", "outlet": "-dash"}
    out = io.StringIO(newline="")
    write([row], CLAIM_COLUMNS, "csv", out)
    back = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert back["quote"] == row["quote"] and back["value"] == "600"
    assert back["source"] == "'=HYPERLINK(\"http://evil\")" and back["outlet"] == "'-dash"
