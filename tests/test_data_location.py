"""One data location whatever the current directory; owner-only files; clear database refusals.

The commands run as an operator runs them: in a subprocess, from different directories, with a
home folder of their own (``HOME`` in ``tmp_path``, no ``ELIGIBILITY_*`` variables) and the
umask most systems give (022), so that only the service's own care makes files owner-only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from service.api.settings import Settings
from service.cli import build_parser, main
from service.store import DecisionStore, current_revision
from tests.api.conftest import EXAMPLES, ROOT, free_port
from tests.helpers import wait_ready
from tests.store.conftest import require_postgres
from tests.store.test_migrations import HEAD_REVISION

CLI = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]
PASSWORD = "never-printed-Pw-7f3a"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def operator_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: their own home, no ELIGIBILITY_* or XDG_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ELIGIBILITY_", "XDG_", "PROMETHEUS_"))
    }
    env["HOME"] = str(home)
    env.update(extra)
    return env


def data_folder(home: Path) -> Path:
    return home / ".local" / "share" / "eligibility"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``eligibility ARGS`` in ``cwd``, under the common umask 022."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def zh_then_en(output: str, zh: str, en: str) -> None:
    assert zh in output and en in output, output
    assert output.index(zh) < output.index(en), output


# --- the default data folder --------------------------------------------------------------------


def test_the_default_data_folder_is_per_user_not_the_current_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings.from_env({"HOME": str(home)})
    assert settings.data_dir == home / ".local" / "share" / "eligibility"
    assert settings.database_url == f"sqlite:///{settings.data_dir / 'decisions.db'}"

    xdg = tmp_path / "xdg"
    assert Settings.from_env({"HOME": str(home), "XDG_DATA_HOME": str(xdg)}).data_dir == (
        xdg / "eligibility"
    )
    # XDG base directories: a relative XDG_DATA_HOME is invalid and ignored
    relative = Settings.from_env({"HOME": str(home), "XDG_DATA_HOME": "xdg"})
    assert relative.data_dir == home / ".local" / "share" / "eligibility"
    # ELIGIBILITY_DATA_DIR wins; a relative one is made absolute once (workers, messages)
    chosen = Settings.from_env({"HOME": str(home), "ELIGIBILITY_DATA_DIR": "somewhere"})
    assert chosen.data_dir == Path.cwd() / "somewhere"


def test_a_bad_setting_is_refused_in_both_languages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ELIGIBILITY_DB_POOL_SIZE", "eight")
    assert main(["keys", "list", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    err = capsys.readouterr().err
    zh_then_en(
        err, "ELIGIBILITY_DB_POOL_SIZE：应为整数", "ELIGIBILITY_DB_POOL_SIZE: must be a whole"
    )
    assert not (tmp_path / "x.db").exists()


# --- keys find the service's database, or refuse ----------------------------------------------


def test_keys_created_in_another_directory_go_to_the_same_database(
    tmp_path: Path, home: Path
) -> None:
    env = operator_env(home)
    made = run(["db", "create"], tmp_path / "ops", env)
    assert made.returncode == 0, made.stderr
    database = data_folder(home) / "decisions.db"
    zh_then_en(made.stderr, f"已建立数据库：{database}", f"created the database {database}")

    elsewhere = tmp_path / "desk"
    key = run(["keys", "create", "--role", "intake", "--name", "desk-1"], elsewhere, env)
    assert key.returncode == 0, key.stderr
    zh_then_en(key.stderr, f"使用数据库：{database}", f"using the database: {database}")
    with DecisionStore(f"sqlite:///{database}") as store:
        assert store.authenticate(key.stdout.strip()) is not None
    assert not (elsewhere / "data").exists()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "create", "--role", "intake", "--name", "desk-1"],
        ["keys", "list"],
        ["keys", "revoke", "0123456789abcdef"],
    ],
    ids=["create", "list", "revoke"],
)
def test_keys_refuse_to_make_a_new_database(tmp_path: Path, home: Path, command: list[str]) -> None:
    done = run(command, tmp_path / "desk", operator_env(home))
    assert done.returncode == 2, done.stderr
    database = data_folder(home) / "decisions.db"
    zh_then_en(done.stderr, f"没有找到数据库：{database}", f"no database at {database}")
    for advice in ("eligibility db create", "eligibility serve", "eligibility db upgrade"):
        assert advice in done.stderr.splitlines()[-1] and advice in done.stderr.splitlines()[-2]
    assert done.stdout == ""
    assert not data_folder(home).exists()
    assert not (tmp_path / "desk" / "data").exists()


def test_keys_refuse_an_empty_database(tmp_path: Path, home: Path) -> None:
    database = tmp_path / "empty.db"
    database.touch()
    done = run(
        ["keys", "create", "--role", "admin", "--name", "ops", "--db", f"sqlite:///{database}"],
        tmp_path,
        operator_env(home),
    )
    assert done.returncode == 2, done.stderr
    zh_then_en(done.stderr, f"数据库 {database} 是空的", f"the database {database} is empty")
    assert current_revision(f"sqlite:///{database}") is None  # not migrated behind our back


# --- owner-only files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["db", "create"], ["db", "upgrade"]], ids=["create", "upgrade"]
)
def test_a_database_made_by_a_command_is_owner_only(
    tmp_path: Path, home: Path, command: list[str]
) -> None:
    env = operator_env(home)
    done = run(command, tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert f"revision {HEAD_REVISION}" in done.stdout
    folder = data_folder(home)
    assert mode(folder) == 0o700
    assert mode(folder / "decisions.db") == 0o600
    key = run(["keys", "create", "--role", "admin", "--name", "ops"], tmp_path, env)
    assert key.returncode == 0, key.stderr
    for path in folder.iterdir():  # the database and any WAL or shared-memory file left
        assert mode(path) == 0o600, path


def test_serve_and_keys_in_different_directories_share_one_database(
    tmp_path: Path, home: Path
) -> None:
    """The report's case: the service runs from one folder, the key is made from another."""
    port = free_port()
    env = operator_env(home)
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    folder = data_folder(home)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(server, base)
        key = run(["keys", "create", "--role", "intake", "--name", "desk"], tmp_path / "desk", env)
        assert key.returncode == 0, key.stderr
        response = httpx.post(
            f"{base}/v1/decisions",
            content=EXAMPLES[0].read_bytes(),
            headers={"Authorization": f"Bearer {key.stdout.strip()}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        # while the service runs: folder, database, its WAL and shared memory, the secret
        assert mode(folder) == 0o700
        files = {path.name: mode(path) for path in folder.iterdir()}
        for name in ("decisions.db", "decisions.db-wal", "decisions.db-shm"):
            assert files.get(name) == 0o600, files
        # the pseudonymisation key: in the keys folder, never beside the data
        keys = home / ".config" / "eligibility" / "keys"
        assert mode(keys) == 0o700 and mode(keys / "pseudonym.key") == 0o600
        assert "secret.key" not in files
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    lines = [json.loads(line) for line in output.decode("utf-8").splitlines() if line.strip()]
    [where] = [line for line in lines if "data_dir" in line]
    assert where["msg"] == "数据目录与数据库 / data folder and database"
    assert where["data_dir"] == str(folder)
    assert where["database"] == str(folder / "decisions.db")


def test_serve_starts_when_the_database_server_is_unreachable(tmp_path: Path, home: Path) -> None:
    """Unchanged: an unreachable server is waited for (503 until it answers); the start-up line
    names the database without its password."""
    port, dead_port = free_port(), free_port()
    url = f"postgresql://eligibility:{PASSWORD}@127.0.0.1:{dead_port}/decisions"
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--db", url],
        cwd=ROOT,
        env=operator_env(home, ELIGIBILITY_SECRET="a-test-secret-0123456789abcdef0123"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, "serve exited"
                assert time.monotonic() < deadline, "serve never answered"
                time.sleep(0.2)
        assert ready.status_code == 503
        assert "unreachable" in ready.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    text_out = output.decode("utf-8")
    assert PASSWORD not in text_out
    assert f"postgresql://eligibility:***@127.0.0.1:{dead_port}/decisions" in text_out


# --- PostgreSQL: a missing database -------------------------------------------------------------


@pytest.fixture
def missing_pg(home: Path) -> Iterator[tuple[str, str]]:
    """(URL with a password, the password) of a database that does not exist; dropped after."""
    base: URL = require_postgres()
    name = f"{base.database}_missing_{uuid.uuid4().hex[:10]}"
    password = base.password or PASSWORD  # a trust server ignores it; it must never be printed
    url = base.set(database=name, password=password)
    yield url.render_as_string(hide_password=False), str(password)
    admin = create_engine(
        base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_serve_refuses_a_missing_postgres_database(
    tmp_path: Path, home: Path, missing_pg: tuple[str, str]
) -> None:
    url, password = missing_pg
    done = subprocess.run(
        [*CLI, "serve", "--port", str(free_port()), "--db", url],
        cwd=tmp_path,
        env=operator_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    output = done.stdout + done.stderr
    assert password not in output
    [error] = [json.loads(line) for line in done.stderr.splitlines() if '"error"' in line]
    name = url.rsplit("/", 1)[1]
    zh_then_en(
        error["msg"],
        f"PostgreSQL 服务器上没有数据库 {name}",
        f"the PostgreSQL server has no database {name}",
    )
    assert "eligibility db create" in error["msg"]


def test_keys_refuse_a_missing_postgres_database(
    tmp_path: Path, home: Path, missing_pg: tuple[str, str]
) -> None:
    url, password = missing_pg
    done = run(["keys", "list", "--db", url], tmp_path, operator_env(home))
    assert done.returncode == 2, done.stderr
    assert password not in done.stdout + done.stderr
    name = url.rsplit("/", 1)[1]
    zh_then_en(done.stderr, f"没有数据库 {name}", f"has no database {name}")
    assert "eligibility db create" in done.stderr


def test_db_create_makes_and_migrates_a_postgres_database(
    tmp_path: Path, home: Path, missing_pg: tuple[str, str]
) -> None:
    url, password = missing_pg
    env = operator_env(home)
    made = run(["db", "create", "--db", url], tmp_path, env)
    assert made.returncode == 0, made.stderr
    assert current_revision(url) == HEAD_REVISION
    assert "已建立数据库" in made.stderr and "created the database" in made.stderr
    again = run(["db", "create", "--db", url], tmp_path, env)
    assert again.returncode == 0, again.stderr
    zh_then_en(again.stderr, "数据库已存在", "the database already exists")
    key = run(["keys", "create", "--role", "admin", "--name", "ops", "--db", url], tmp_path, env)
    assert key.returncode == 0, key.stderr
    with DecisionStore(url) as store:
        assert store.authenticate(key.stdout.strip()) is not None
    for output in (made, again, key):
        assert password not in output.stdout + output.stderr
    assert not data_folder(home).exists()  # nothing of a PostgreSQL database goes there


# --- help ---------------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _subcommands(child, (*path, name))
    yield path, parser


def test_every_option_of_serve_db_and_keys_says_what_it_does_and_its_default() -> None:
    commands = {
        ("serve",),
        ("db", "create"),
        ("db", "upgrade"),
        ("keys", "create"),
        ("keys", "list"),
        ("keys", "revoke"),
    }
    checked = set()
    for path, parser in _subcommands(build_parser()):
        if path not in commands:
            continue
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, (path, name)
            assert "``" not in action.help, (path, name)
            if action.option_strings and not action.required:
                assert "default" in action.help, (path, name, action.help)
        assert "``" not in parser.format_help(), path
        checked.add(path)
    assert checked == commands
