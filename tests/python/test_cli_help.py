"""`--help` of every command, as a newcomer reads it: every option and argument has a description, each
command lists only what it uses, and the environment variables without a flag are shown."""

import os
import re

import pytest

import harness

COMMANDS = [[], ["serve"], ["sandbox"], ["sync"], ["migrate"], ["user"], ["user", "add"], ["user", "key"], ["user", "passwd"], ["user", "revoke"], ["user", "disable"]]
ENTRY = re.compile(r"^  (?:-\w, |    )?(--[\w-]+)(?: <\w+>)?|^  (<\w+>)")


def help_text(*command):
    out = harness.run_cli(*command, "--help", timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def entries(text):
    """{option or argument: its description} from the Arguments and Options sections (long help: the
    description may follow on the next lines; `[env: …]`, `[default: …]` do not count)."""
    found, current = {}, None
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            current = None
            continue
        if section not in ("Arguments", "Options"):
            continue
        m = ENTRY.match(line)
        if m:
            current = m.group(1) or m.group(2)
            found[current] = line[m.end():]
        elif current is not None:
            found[current] += " " + line
    return {name: re.sub(r"\[[^\]]*\]", "", text).strip() for name, text in found.items()}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "bankbridge")
def test_every_option_and_argument_has_a_description(command):
    described = entries(help_text(*command))
    assert described, "no option found"
    missing = [name for name, text in described.items() if len(text) < 8]
    assert not missing, f"{' '.join(command)}: no description for {missing}"


def test_the_options_the_issue_named_are_described():
    serve = entries(help_text("serve"))
    for option in ("--bind", "--port", "--saltedge-app-id", "--database", "--db-name"):
        assert option in serve, option
    assert re.search(r"`?0`? picks a free port", serve["--port"]), serve["--port"]
    assert "LOGIN" in help_text("user", "key") and "<LOGIN>" in entries(help_text("user", "key"))
    assert "--name" in entries(help_text("user", "key"))


def test_sync_lists_only_what_it_uses_and_says_it_needs_serve():
    text = help_text("sync")
    options = set(entries(text))
    assert {"--database", "--link", "--saltedge-app-id", "--saltedge-secret"} <= options
    for unused in ("--saltedge-callback-key", "--sandbox-transactions", "--db-name", "--bind", "--port"):
        assert unused not in options, unused
    assert "running `bankbridge serve`" in text


def test_sandbox_lists_no_database_option():
    options = set(entries(help_text("sandbox")))
    assert "--port" in options
    assert not options & {"--database", "--db-name"}, options
    given = harness.run_cli("--database", "x.db", "sandbox", timeout=30)
    assert given.returncode != 0 and "uses no database" in given.stderr, given


def test_database_before_or_after_the_command_and_the_command_s_own_wins(tmp_path):
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BANKBRIDGE_DATABASE")}
    env["DATABASE_URL"] = str(tmp_path / "from-env.db")
    run = lambda *args: harness.run_cli(*args, env=env, cwd=tmp_path)
    assert run("--database", str(before), "migrate").returncode == 0 and before.exists()
    assert run("--database", str(before), "migrate", "--database", str(after)).returncode == 0 and after.exists()
    assert not (tmp_path / "from-env.db").exists()
    assert run("migrate").returncode == 0 and (tmp_path / "from-env.db").exists()


@pytest.mark.parametrize("command", [[], ["serve"], ["sync"]], ids=lambda c: " ".join(c) or "bankbridge")
def test_environment_variables_without_a_flag_are_shown(command):
    text = help_text(*command)
    assert "RUST_LOG" in text and "BANKBRIDGE_DATABASE" in text
