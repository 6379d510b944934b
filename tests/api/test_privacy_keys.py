"""Where the pseudonymisation key lives: a keys folder apart from the data; an earlier install's
key in the data folder keeps its pseudonyms linkable outside production, and production mode
refuses any key in the data folder."""

from __future__ import annotations

import hashlib
import hmac
import logging
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from service.api.privacy import KeyInDataFolder, pseudonym_key
from service.api.settings import Settings
from tests.api.conftest import ROOT, Api
from tests.api.test_http_cli import CLI, serve_env
from tests.helpers import load_example

LEGACY_KEY = "0123456789abcdef" * 4  # as an earlier install generated it: 64 hex characters


def test_the_keys_folder_follows_xdg_and_the_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plain = Settings.from_env({"HOME": str(home)})
    assert plain.keys_dir == home / ".config" / "eligibility" / "keys"
    assert plain.pseudonym_key_path == plain.keys_dir / "pseudonym.key"
    assert plain.production is False
    xdg = Settings.from_env({"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert xdg.keys_dir == tmp_path / "cfg" / "eligibility" / "keys"
    chosen = Settings.from_env(
        {
            "HOME": str(home),
            "ELIGIBILITY_PSEUDONYM_KEY_FILE": str(tmp_path / "vault" / "p.key"),
            "ELIGIBILITY_PRODUCTION": "1",
        }
    )
    assert chosen.pseudonym_key_path == tmp_path / "vault" / "p.key" and chosen.production
    # The workers get the same settings through the environment.
    again = Settings.from_env({"HOME": "/elsewhere", **chosen.to_env()})
    assert (again.keys_dir, again.pseudonym_key_path, again.production) == (
        chosen.keys_dir,
        chosen.pseudonym_key_path,
        True,
    )


def test_a_key_is_generated_once_in_the_keys_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", keys_dir=tmp_path / "cfg" / "keys")
    key = pseudonym_key(settings)
    assert len(key) == 64 and pseudonym_key(settings) == key
    assert stat.S_IMODE((tmp_path / "cfg" / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.pseudonym_key_path.stat().st_mode) == 0o600
    assert not (tmp_path / "data" / "secret.key").exists()
    # Production mode is satisfied by a key outside the data folder.
    assert pseudonym_key(Settings(**{**settings.__dict__, "production": True})) == key


def test_an_earlier_install_keeps_its_pseudonyms_linkable_outside_production(
    api_factory: Callable[..., Api],
    sqlite_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data, keys = tmp_path / "data", tmp_path / "keys"
    data.mkdir()
    (data / "secret.key").write_text(LEGACY_KEY + "\n")
    with caplog.at_level(logging.WARNING):
        api = api_factory(sqlite_url, data_dir=data, keys_dir=keys, secret=None)
    warned = caplog.text + api.logs.getvalue()
    assert (
        "the pseudonymisation key is still in the data folder" in warned and "假名化密钥" in warned
    )
    # Not moved, no second key made (the folder holds the log's signing key, made at start).
    assert not (keys / "pseudonym.key").exists()

    body = load_example("wuhan-dibao-household-eligible.json")
    decision_id = api.post_decision(body).json()["decision_id"]
    record = api.client.get(f"/v1/decisions/{decision_id}", headers=api.headers("auditor"))
    expected = hmac.new(
        LEGACY_KEY.encode(), b"id_number\x0042010619790308123X", hashlib.sha256
    ).hexdigest()
    assert record.json()["personal"]["m1"]["id_number_pseudonym"] == expected


@pytest.mark.parametrize("where", ["legacy", "configured", "left behind", "secret set"])
def test_production_refuses_a_key_in_the_data_folder(tmp_path: Path, where: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(data_dir=data, keys_dir=tmp_path / "keys", production=True)
    if where == "legacy":
        found = data / "secret.key"
        found.write_text(LEGACY_KEY)
    elif where == "configured":
        found = data / "keys" / "pseudonym.key"
        settings = Settings(**{**settings.__dict__, "pseudonym_key_file": found})
    elif where == "left behind":  # moved to the keys folder, the old copy still beside the data
        found = data / "secret.key"
        found.write_text(LEGACY_KEY)
        settings.keys_dir.mkdir()
        settings.pseudonym_key_path.write_text(LEGACY_KEY)
    else:  # the key given in ELIGIBILITY_SECRET, an old key file still beside the data
        found = data / "secret.key"
        found.write_text(LEGACY_KEY)
        settings = Settings(**{**settings.__dict__, "secret": LEGACY_KEY})
    with pytest.raises(KeyInDataFolder) as refused:
        pseudonym_key(settings)
    assert str(found) in refused.value.text.zh and str(found) in refused.value.text.en
    assert "ELIGIBILITY_PSEUDONYM_KEY_FILE" in refused.value.text.en
    assert not (data / "keys").exists()  # nothing made


def test_serve_in_production_refuses_a_key_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.key").write_text(LEGACY_KEY)
    env = {**serve_env(data), "ELIGIBILITY_PRODUCTION": "1"}
    result = subprocess.run(
        [*CLI, "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"假名化密钥文件 {data / 'secret.key'} 位于数据目录 {data} 中" in result.stderr
    assert f"key file {data / 'secret.key'} is inside the data folder {data}" in result.stderr
    assert f"mv {data / 'secret.key'} " in result.stderr  # what to do
