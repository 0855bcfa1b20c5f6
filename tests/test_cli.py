"""The command line as users meet it: every command teaches with --help, errors are one line."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.scenario import REPO, watcher_cmd

SPEC_COMMANDS = ["run", "poll", "digest", "extract", "figures", "check", "status", "demo"]


def cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(watcher_cmd(*args), cwd=REPO, text=True, capture_output=True,
                          timeout=60, input=input)


@pytest.mark.parametrize("command", SPEC_COMMANDS)
def test_every_spec_command_answers_help_with_an_explanation(command):
    result = cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: watcher {command}" in result.stdout
    assert len(result.stdout.splitlines()) >= 5  # a description, not just a usage line


def test_top_level_help_lists_every_command_and_first_steps():
    out = cli("--help").stdout
    for command in SPEC_COMMANDS:
        assert command in out
    assert "watcher demo" in out


def test_a_missing_config_is_one_line_with_a_fix_and_exit_2(tmp_path):
    result = cli("--config", str(tmp_path / "nope.yaml"), "check")
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "Traceback" not in result.stderr


def test_extract_reads_stdin_and_prints_claim_json():
    import json
    result = cli("extract", "--json", "--lang", "en",
                 input="At least 32 people were killed in the strike, the governor said.")
    assert result.returncode == 0, result.stderr
    claims = [json.loads(line) for line in result.stdout.splitlines()]
    found = [(c["metric"], c["value"], c["qualifier"]) for c in claims]
    assert found == [("killed", 32, "at_least")]


def test_output_cut_short_by_a_pager_is_not_an_error():
    text = "At least 32 people were killed in the strike, the governor said. " * 3000
    with subprocess.Popen(watcher_cmd("extract", "--json", "--lang", "en"), cwd=REPO,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        proc.stdin.write(text)
        proc.stdin.close()
        assert proc.stdout.readline().startswith("{")
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert code == 0 and "error" not in err, err
