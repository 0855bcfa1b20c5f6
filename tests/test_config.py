"""Reading and checking watcher.yaml, as a user of `watcher check` sees it.

Broken configs live in tests/data/config/*.yaml; each ends with `# expect: LINE KEY | text`
lines naming every problem the user must be told about (KEY `-` for none), at which line, and
a piece of the message. All of a file's problems must come out of one load, together.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from watcher.config import Settings, default_config_path, load_settings
from watcher.config.loader import DEFAULT_CONFIG
from watcher.exceptions import ConfigError

REPO = Path(__file__).resolve().parent.parent
BROKEN = REPO / "tests" / "data" / "config"
EXAMPLE = REPO / "config" / "watcher.yaml"
EXAMPLE_ENV = {"SMTP_PASSWORD": "s3cret", "WEBHOOK_SECRET": "whsec_dGVzdA=="}
_EXPECT = re.compile(r"^# expect: (\d+) (\S+) \| (.+)$")


def _expectations(path: Path) -> list[tuple[int, str, str]]:
    found = [_EXPECT.match(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(int(m[1]), "" if m[2] == "-" else m[2], m[3]) for m in found if m]


def _problems(path: Path, env: dict[str, str]) -> list[Any]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    return caught.value.problems


def _write(tmp_path: Path, text: str, name: str = "watcher.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- broken configs, table-driven ---------------------------------------------------------


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_config_reports_every_problem_at_its_line_and_key(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    problems = _problems(path, env={"SMTP_PASSWORD": "s3cret"})
    got = sorted((p.line, p.key) for p in problems)
    assert got == sorted((line, key) for line, key, _ in expected)
    for line, key, text in expected:
        (problem,) = [p for p in problems if (p.line, p.key) == (line, key)]
        assert text in problem.message
        assert problem.file == str(path)


def test_error_text_is_one_line_per_problem_with_file_line_and_key() -> None:
    path = BROKEN / "bad-duration.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).splitlines() == [
        f"{path}:5: feeds[0].interval: '15 minutes' is not a duration; "
        "write e.g. 30s, 15m, 1h or 7d",
        f"{path}:11: topics[0].alert.conflict_window: 'a week' is not a duration; "
        "write e.g. 30s, 15m, 1h or 7d",
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "fetch:\n  proxy: http://127.0.0.1:3128\n")
    (problem,) = _problems(path, env={})
    assert (problem.line, problem.key) == (2, "fetch.proxy")
    assert problem.message == ("unknown key 'proxy'; allowed here: timeout, max_bytes, user_agent, "
                               "concurrency, per_host_concurrency, host_spacing, "
                               "allow_private_networks")


def test_a_section_given_as_text_instead_of_a_list(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds: https://www.askanews.it/esteri/feed\n")
    (problem,) = _problems(path, env={})
    assert (problem.line, problem.key) == (1, "feeds")
    assert problem.message.startswith("expected a list")


# --- the file itself ----------------------------------------------------------------------


def test_missing_file_names_the_path_and_how_to_get_one(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    (problem,) = _problems(path, env={})
    assert problem.file == str(path)
    assert "not found" in problem.message
    assert "--config" in problem.message and "config/watcher.yaml" in problem.message


@pytest.mark.parametrize("text", ["", "\n  \n", "# only a comment\n"], ids=["empty", "blank",
                                                                           "comments"])
def test_empty_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    (problem,) = _problems(_write(tmp_path, text), env={})
    assert "config/watcher.yaml" in problem.message
    assert "empty" in problem.message or "no settings" in problem.message


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("feeds: []\n# città\n".encode("latin-1"))
    (problem,) = _problems(path, env={})
    assert "not UTF-8" in problem.message and "save the file as UTF-8" in problem.message


def test_two_documents_in_one_file_are_refused_at_the_second(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, "feeds: []\n---\ntopics: []\n"), env={})
    assert problem.line == 2
    assert "expected a single document" in problem.message
    assert "remove the '---' line" in problem.message


def test_a_list_at_the_top_is_not_a_config(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, "- feeds\n- topics\n"), env={})
    assert problem.line == 1
    assert "at the top level, got a list" in problem.message


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = _write(tmp_path, "database: !!python/object/apply:os.system ['true']\n"
                            "http: !!python/name:os.system\n")
    problems = _problems(path, env={})
    assert [(p.line, p.key) for p in problems] == [(1, "database"), (2, "http")]
    assert "python/object/apply:os.system" in problems[0].message
    assert "python/name:os.system" in problems[1].message


def test_anchors_and_merge_keys_work_as_in_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
feeds:
  - &common {id: a, url: "https://example.org/a.xml", interval: 1h}
  - <<: *common
    id: b
""")
    settings = load_settings(path, env={})
    assert [(f.id, f.url, f.interval.total_seconds()) for f in settings.feeds] == [
        ("a", "https://example.org/a.xml", 3600), ("b", "https://example.org/a.xml", 3600)]


# --- ${VAR} substitution ------------------------------------------------------------------


_CHANNEL = """\
channels:
  - id: desk
    type: email
    from: watcher@example.org
    to: [desk@example.org]
    smtp:
      host: ${SMTP_HOST:-smtp.example.org}
      port: ${SMTP_PORT}
      starttls: ${STARTTLS:-false}
      password: "pa$${NOT_A_VAR}"
"""


def test_env_values_are_substituted_and_coerced_like_written_values(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, _CHANNEL), env={"SMTP_PORT": "2525"})
    smtp = settings.channels[0].smtp
    assert (smtp.host, smtp.port, smtp.starttls) == ("smtp.example.org", 2525, False)
    assert smtp.password.get_secret_value() == "pa${NOT_A_VAR}"


def test_env_default_applies_when_the_variable_is_empty(tmp_path: Path) -> None:
    env = {"SMTP_PORT": "25", "SMTP_HOST": "", "STARTTLS": "true"}
    smtp = load_settings(_write(tmp_path, _CHANNEL), env=env).channels[0].smtp
    assert (smtp.host, smtp.port, smtp.starttls) == ("smtp.example.org", 25, True)


def test_env_value_of_the_wrong_type_is_reported_at_the_key(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, _CHANNEL), env={"SMTP_PORT": "smtp"})
    assert (problem.line, problem.key) == (8, "channels[0].smtp.port")
    assert problem.message == "expected an integer, got 'smtp'"


def test_malformed_reference_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, "database: ${DB URL}\n"), env={})
    assert (problem.line, problem.key) == (1, "database")
    assert "'${DB URL}' is not a variable reference" in problem.message


def test_env_defaults_to_the_process_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TEST_DB", "postgresql+psycopg://db.example.org/watcher")
    settings = load_settings(_write(tmp_path, "database: ${WATCHER_TEST_DB}\n"))
    assert settings.database == "postgresql+psycopg://db.example.org/watcher"


# --- database paths -----------------------------------------------------------------------


@pytest.mark.parametrize("written, expected", [
    ("sqlite:///data/w.db", "sqlite:///{dir}/data/w.db"),
    ("sqlite:///../w.db?timeout=5", "sqlite:///{parent}/w.db?timeout=5"),
    ("sqlite+pysqlite:///w.db", "sqlite+pysqlite:///{dir}/w.db"),
    ("sqlite:////var/lib/watcher/w.db", "sqlite:////var/lib/watcher/w.db"),
    ('"sqlite:///:memory:"', "sqlite:///:memory:"),
    ("postgresql+psycopg://u@db/watcher", "postgresql+psycopg://u@db/watcher"),
])
def test_relative_sqlite_paths_are_relative_to_the_config_file(
        tmp_path: Path, written: str, expected: str) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    settings = load_settings(_write(conf_dir, f"database: {written}\n"), env={})
    assert settings.database == expected.format(dir=conf_dir.resolve(),
                                                parent=tmp_path.resolve())


def test_default_database_is_next_to_the_config_file(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, "feeds: []\n"), env={})
    assert settings.database == f"sqlite:///{tmp_path.resolve()}/data/watcher.db"


# --- which file -----------------------------------------------------------------------------


def test_config_path_prefers_the_option_then_the_environment_then_the_default() -> None:
    env = {"WATCHER_CONFIG": "/etc/watcher/watcher.yaml"}
    assert default_config_path(env, "mine.yaml") == Path("mine.yaml")
    assert default_config_path(env) == Path("/etc/watcher/watcher.yaml")
    assert default_config_path({}) == DEFAULT_CONFIG == Path("config/watcher.yaml")
    assert default_config_path({"WATCHER_CONFIG": ""}) == Path("config/watcher.yaml")


# --- the documented example (docs that are tested) ----------------------------------------


def test_example_config_is_valid() -> None:
    settings = load_settings(EXAMPLE, env=EXAMPLE_ENV)
    assert [t.id for t in settings.topics] == ["dprk-troops", "myanmar-quake"]
    assert settings.channels[0].smtp.password.get_secret_value() == "s3cret"
    assert settings.database == f"sqlite:///{EXAMPLE.parent.resolve()}/data/watcher.db"


def test_example_config_needs_its_two_secrets() -> None:
    problems = _problems(EXAMPLE, env={})
    assert sorted(p.key for p in problems) == ["channels[0].smtp.password", "channels[1].secret"]


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every settings model reachable from `model`."""
    from watcher.config.loader import _models_in

    found = {model}
    for info in model.model_fields.values():
        for inner in _models_in(info.annotation):
            found |= _models(inner)
    return found


def _fields_written(value: Any, out: dict[type, set[str]]) -> dict[type, set[str]]:
    if isinstance(value, BaseModel):
        out.setdefault(type(value), set()).update(value.model_fields_set)
        for name in value.model_fields_set:
            _fields_written(getattr(value, name), out)
    elif isinstance(value, list):
        for item in value:
            _fields_written(item, out)
    return out


def _example_with_optional_blocks(tmp_path: Path) -> Path:
    """The example with its `#~ ` blocks (channels that need an extra) switched on."""
    enabled = tmp_path / "watcher.yaml"
    enabled.write_text(EXAMPLE.read_text(encoding="utf-8").replace("#~ ", ""), encoding="utf-8")
    return enabled


def test_example_config_shows_every_key_of_every_section(tmp_path: Path) -> None:
    pytest.importorskip("apprise")
    written = _fields_written(load_settings(_example_with_optional_blocks(tmp_path),
                                            env=EXAMPLE_ENV), {})
    for model in _models(Settings):
        missing = set(model.model_fields) - written.get(model, set())
        assert not missing, f"config/watcher.yaml does not show {model.__name__}: {missing}"


def test_example_config_comments_every_key() -> None:
    """Each key line is followed by, or carries, a comment (sequences of keys excepted)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    top = [line for line in lines if re.match(r"^[a-z_]+:", line)]
    assert [t.split(":")[0] for t in top] == list(Settings.model_fields)
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[i - 1].startswith("#"), f"no comment above top-level key: {line}"
    assert yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))  # plain YAML, no tricks


# --- sources: one source under several names -----------------------------------------------


_SOURCES = """\
topics:
  - id: dprk-troops
    name: North Korean troops
    match: {all: [[North Korea]]}
  - id: kursk
    name: Kursk
    match: {all: [[Kursk]]}
    alert: {conflict_window: 30d}
sources:
  - name: South Korea's National Intelligence Service
    aliases: [NIS, servizi segreti sudcoreani, South Korea's spy agency]
"""


def test_sources_make_every_topic_read_an_agencys_names_as_one_source(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from watcher.pipeline.compare import decide
    from watcher.types import FigureRecord

    def killed(value: int, source: str, day: int) -> FigureRecord:
        return FigureRecord(value=value, value_max=None, qualifier="approx", source=source,
                            published=datetime(2025, 10, day, tzinfo=timezone.utc), quote="…")

    settings = load_settings(_write(tmp_path, _SOURCES), env={})
    assert [(s.name, s.aliases) for s in settings.sources] == [
        ("South Korea's National Intelligence Service",
         ["NIS", "servizi segreti sudcoreani", "South Korea's spy agency"])]
    history = [killed(600, "servizi segreti sudcoreani", 24)]
    for topic in settings.topics:
        decision = decide(killed(2000, "South Korea's spy agency", 30), history, topic.alert)
        assert decision.kind == "changed", topic.id
    assert settings.topic("kursk").alert.conflict_window == timedelta(days=30)  # kept as written


def test_a_misspelt_key_under_sources_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, "sources:\n  - name: NIS\n    alias: [spy agency]\n")
    (problem,) = _problems(path, env={})
    assert (problem.line, problem.key) == (3, "sources[0].alias")
    assert problem.message == "unknown key 'alias' — did you mean 'aliases'?"


def test_a_source_needs_a_name(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, "sources:\n  - aliases: [NIS]\n"), env={})
    assert (problem.line, problem.key) == (2, "sources[0].name")
    assert problem.message.startswith("missing required key 'name'")
