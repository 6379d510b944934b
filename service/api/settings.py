"""Service settings, read from ``ELIGIBILITY_*`` environment variables (see the README table).

Every setting has a default that works on a laptop: a SQLite file in the per-user data folder
(``$XDG_DATA_HOME/eligibility``, i.e. ``~/.local/share/eligibility``), a generated key in the
keys folder apart from it (``$XDG_CONFIG_HOME/eligibility/keys``), the rules in ``rules/``,
loopback only. The data folder never depends on the current directory, so
``serve``, ``keys`` and ``db`` started anywhere find the same database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from service.bilingual import BilingualError
from service.engine.bundle import DEFAULT_RULES_DIR

PREFIX = "ELIGIBILITY_"
APP_FOLDER = "eligibility"


class SettingsError(BilingualError, ValueError):
    """An ``ELIGIBILITY_*`` variable whose value the service cannot use."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/eligibility``, or ``~/.local/share/eligibility`` (XDG base directories:
    an unset, empty or relative ``XDG_DATA_HOME`` is ignored)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_FOLDER
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share" / APP_FOLDER


def default_keys_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/eligibility/keys``, or ``~/.config/eligibility/keys``: the keys live
    apart from the data they protect (never in the data folder)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_FOLDER / "keys"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".config" / APP_FOLDER / "keys"


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise BilingualError(
        f"不是布尔值（true/false）：{text!r}", f"not a boolean (true/false): {text!r}"
    )


def _writer_mode(text: str) -> str:
    value = text.strip().lower()
    if value not in ("thread", "inline"):
        raise BilingualError(
            f"应为 thread 或 inline，不能是 {text!r}", f"must be thread or inline, not {text!r}"
        )
    return value


def _number(kind: type[int] | type[float]) -> Any:
    def convert(text: str) -> int | float:
        try:
            return kind(text)
        except ValueError:
            zh = "整数" if kind is int else "数"
            en = "a whole number" if kind is int else "a number"
            raise BilingualError(
                f"应为{zh}，不能是 {text!r}", f"must be {en}, not {text!r}"
            ) from None

    return convert


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; ``Settings.from_env()`` reads the environment."""

    data_dir: Path = field(default_factory=default_data_dir)
    db_url: str | None = None  # default: sqlite:///<data_dir>/decisions.db
    rules_dir: Path = DEFAULT_RULES_DIR
    secret: str | None = field(default=None, repr=False)  # default: <data_dir>/secret.key
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    access_log: bool = True
    key_cache_seconds: float = 5.0
    retry_after_seconds: int = 5
    batch_max: int = 256
    db_pool_size: int = 8
    migrate_on_start: bool = True
    fast_path: bool = True
    writer: str = "inline"  # "inline": group commit on the event loop; "thread": a writer thread
    keys_dir: Path = field(default_factory=default_keys_dir)  # 0700, never in the data folder
    pseudonym_key_file: Path | None = None  # default: <keys_dir>/pseudonym.key (0600)
    production: bool = False  # refuse to serve with a key inside the data folder
    console_session_idle_seconds: int = 8 * 3600  # a console session unused this long ends
    signing_key_file: Path | None = None  # default: <keys_dir>/signing.key

    def __post_init__(self) -> None:
        # Absolute once and for all: the workers, and the messages, name the same folder.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().absolute())
        object.__setattr__(self, "keys_dir", Path(self.keys_dir).expanduser().absolute())
        if self.pseudonym_key_file is not None:
            path = Path(self.pseudonym_key_file).expanduser().absolute()
            object.__setattr__(self, "pseudonym_key_file", path)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'decisions.db').as_posix()}"

    @property
    def secret_file(self) -> Path:
        """Where installs before the keys folder kept the pseudonymisation key (see privacy)."""
        return self.data_dir / "secret.key"

    @property
    def pseudonym_key_path(self) -> Path:
        return self.pseudonym_key_file or self.keys_dir / "pseudonym.key"

    @property
    def signing_key_path(self) -> Path:
        """The log's checkpoint signing key (Ed25519, Go's signer key text)."""
        if self.signing_key_file is not None:
            return Path(self.signing_key_file).expanduser().absolute()
        return self.keys_dir / "signing.key"

    @property
    def reload_signal_file(self) -> Path:
        """Touched by a successful reload so that every worker process reloads too."""
        return self.data_dir / "rules.reloaded"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        conversions: dict[str, Any] = {
            "data_dir": Path,
            "db_url": str,
            "rules_dir": Path,
            "secret": str,
            "host": str,
            "port": _number(int),
            "workers": _number(int),
            "max_body_bytes": _number(int),
            "log_level": lambda v: v.upper(),
            "access_log": _bool,
            "key_cache_seconds": _number(float),
            "retry_after_seconds": _number(int),
            "batch_max": _number(int),
            "db_pool_size": _number(int),
            "migrate_on_start": _bool,
            "fast_path": _bool,
            "writer": _writer_mode,
            "keys_dir": Path,
            "pseudonym_key_file": Path,
            "production": _bool,
            "console_session_idle_seconds": _number(int),
            "signing_key_file": Path,
        }
        for name, convert in conversions.items():
            raw = env.get(PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            try:
                kwargs[name] = convert(raw)
            except BilingualError as error:
                variable = PREFIX + name.upper()
                raise SettingsError(
                    f"{variable}：{error.text.zh}", f"{variable}: {error.text.en}"
                ) from None
        kwargs.setdefault("data_dir", default_data_dir(env))
        kwargs.setdefault("keys_dir", default_keys_dir(env))
        return cls(**kwargs)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (for worker processes)."""
        out = {
            "DATA_DIR": str(self.data_dir),
            "RULES_DIR": str(self.rules_dir),
            "HOST": self.host,
            "PORT": str(self.port),
            "WORKERS": str(self.workers),
            "MAX_BODY_BYTES": str(self.max_body_bytes),
            "LOG_LEVEL": self.log_level,
            "ACCESS_LOG": "true" if self.access_log else "false",
            "KEY_CACHE_SECONDS": str(self.key_cache_seconds),
            "RETRY_AFTER_SECONDS": str(self.retry_after_seconds),
            "BATCH_MAX": str(self.batch_max),
            "DB_POOL_SIZE": str(self.db_pool_size),
            "MIGRATE_ON_START": "true" if self.migrate_on_start else "false",
            "FAST_PATH": "true" if self.fast_path else "false",
            "WRITER": self.writer,
            "KEYS_DIR": str(self.keys_dir),
            "PRODUCTION": "true" if self.production else "false",
            "CONSOLE_SESSION_IDLE_SECONDS": str(self.console_session_idle_seconds),
        }
        if self.signing_key_file is not None:
            out["SIGNING_KEY_FILE"] = str(self.signing_key_path)
        if self.db_url:
            out["DB_URL"] = self.db_url
        if self.secret:
            out["SECRET"] = self.secret
        if self.pseudonym_key_file:
            out["PSEUDONYM_KEY_FILE"] = str(self.pseudonym_key_file)
        return {PREFIX + k: v for k, v in out.items()}
