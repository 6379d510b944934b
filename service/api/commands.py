"""eligibility serve | db create|upgrade | keys create|list|revoke | audit (added by service.cli).

    eligibility serve [--host 127.0.0.1] [--port 8000] [--db URL] [--workers N] [--data-dir D]
    eligibility db create [--db URL] [--data-dir D]
    eligibility db upgrade [--db URL] [--data-dir D]
    eligibility keys create --role intake|integrator|auditor|admin --name NAME [--db URL]
    eligibility keys list [--db URL]
    eligibility keys revoke KEY_ID [--db URL]
    eligibility audit keygen [--name NAME] [--key FILE]   the log's key pair; prints the public key
    eligibility audit public-key [--key FILE]             prints the public (verifier) key
    eligibility audit checkpoint [--db URL]               prints the latest signed checkpoint
    eligibility audit export --out FILE [--db URL]        each record's leaf and every checkpoint
    eligibility audit check FILE --key PUBLIC [--checkpoint KEPT]   offline: no database

Every command finds the same database whatever the current directory: --db, else
ELIGIBILITY_DB_URL, else decisions.db in the data folder (--data-dir, else ELIGIBILITY_DATA_DIR,
else $XDG_DATA_HOME/eligibility, i.e. ~/.local/share/eligibility). Each says which database it
uses. Only serve and db make a database; keys refuse one that is missing or empty, so that a key
never lands in a database the service does not read. Files and folders they make are owner-only.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from service.api.settings import Settings, default_data_dir
from service.bilingual import BilingualError, Lang, Text

OWNER_ONLY_UMASK = 0o077
"""The database, its WAL, the secret and the workers' files hold pseudonymised personal data."""

ROLES = ("intake", "integrator", "auditor", "admin")


class DatabaseRefused(BilingualError):
    """The command cannot use the database it was pointed at; nothing was changed (exit 2)."""

    @classmethod
    def saying(cls, text: Text) -> DatabaseRefused:
        return cls(text.zh, text.en)


def _lang(args: argparse.Namespace) -> Lang:
    lang = getattr(args, "lang", None)  # the command line's --lang, where it has one
    return lang if lang in ("zh", "en") else "both"


def _say(args: argparse.Namespace, text: Text, *, stdout: bool = False) -> None:
    print(text.render(_lang(args)), file=sys.stdout if stdout else sys.stderr)


def _refusals_exit_2(command: Callable[[argparse.Namespace], int]) -> Any:
    """A command whose refusals (bad settings, unusable database) print both languages, exit 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except BilingualError as error:
            _say(args, error.text)
            return 2

    return run


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    return settings.with_overrides(
        db_url=getattr(args, "db", None),
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
        rules_dir=getattr(args, "rules", None),
    )


def _where(settings: Settings) -> str:
    from service.store import describe_database

    return describe_database(settings.database_url)


def _using(settings: Settings) -> Text:
    where = _where(settings)
    return Text(f"使用数据库：{where}", f"using the database: {where}")


# --- what is wrong with a database, and what to do about it ---------------------------------

_CREATE_IT = Text(
    "建立方法：eligibility db create（建立数据库并迁移）；或启动 eligibility serve"
    "（启动时迁移空数据库）；或对已有的空数据库运行 eligibility db upgrade。",
    "To create it: eligibility db create (creates and migrates it); or start eligibility serve"
    " (it migrates an empty database on start); or run eligibility db upgrade on an existing"
    " empty database.",
)


def _missing(settings: Settings) -> Text:
    from service.store import sqlite_file

    where = _where(settings)
    if sqlite_file(settings.database_url) is not None:
        folder_zh = "" if settings.db_url else f"（数据目录 {settings.data_dir}）"
        folder_en = "" if settings.db_url else f" (data folder {settings.data_dir})"
        return Text(
            f"没有找到数据库：{where}{folder_zh}。密钥不会放进新建的空数据库。"
            "若服务使用别处的数据库，请用 --db 或 --data-dir（或 ELIGIBILITY_DB_URL、"
            f"ELIGIBILITY_DATA_DIR）指向它。{_CREATE_IT.zh}",
            f"no database at {where}{folder_en}. A key is never put in a new, empty database."
            " If the service uses a database elsewhere, point to it with --db or --data-dir"
            f" (or ELIGIBILITY_DB_URL, ELIGIBILITY_DATA_DIR). {_CREATE_IT.en}",
        )
    return _missing_postgres(settings)


def _missing_postgres(settings: Settings) -> Text:
    from service.store.database import database_name

    name = database_name(settings.database_url)
    where = _where(settings)
    return Text(
        f"PostgreSQL 服务器上没有数据库 {name}（{where}）。建立并迁移："
        "eligibility db create --db URL（URL 同上）；或用 createdb 建立后运行 eligibility db upgrade。",
        f"the PostgreSQL server has no database {name} ({where}). To create and migrate it:"
        " eligibility db create --db URL (the same URL); or create it with createdb, then run"
        " eligibility db upgrade.",
    )


def _unreachable(settings: Settings, error: BaseException) -> Text:
    where, kind = _where(settings), type(error).__name__
    return Text(
        f"无法连接数据库 {where}（{kind}）。", f"cannot reach the database {where} ({kind})."
    )


def _empty(settings: Settings) -> Text:
    where = _where(settings)
    return Text(
        f"数据库 {where} 是空的（从未迁移），密钥不会放进空数据库。{_CREATE_IT.zh}",
        f"the database {where} is empty (never migrated); a key is never put in an empty"
        f" database. {_CREATE_IT.en}",
    )


def _other_revision(settings: Settings, current: str, head: str | None) -> Text:
    where = _where(settings)
    return Text(
        f"数据库 {where} 的版本为 {current}，本版本需要 {head}：请先运行 eligibility db upgrade。",
        f"the database {where} is at revision {current}, this version needs {head}:"
        " run eligibility db upgrade first.",
    )


def _migrated(head: str | None) -> Text:
    return Text(f"数据库已迁移到版本 {head}", f"database migrated to revision {head}")


def _refusal_for_failure(settings: Settings, error: BaseException) -> DatabaseRefused:
    """The database could not be opened: missing (the server says so), or unreachable."""
    from service.store import database_exists, sqlite_file

    is_file = sqlite_file(settings.database_url) is not None
    if not is_file and database_exists(settings.database_url) is False:
        text = _missing_postgres(settings)
    else:
        text = _unreachable(settings, error)
    return DatabaseRefused.saying(text)


def _schema_state(url: str) -> tuple[str | None, str | None]:
    """(current revision, head revision) of the database at ``url``."""
    from service.api.runtime import head_revision
    from service.store import current_revision

    return current_revision(url), head_revision()


def _prepare_database(
    settings: Settings, report: Callable[[Text, str | None], None]
) -> Text | None:
    """Migrates an empty database; returns a problem if the database is at another revision."""
    from service.store import upgrade

    url = settings.database_url
    current, head = _schema_state(url)
    if current is None:
        upgrade(url)
        report(_migrated(head), head)
        return None
    if current != head:
        return _other_revision(settings, current, head)
    return None


# --- serve ------------------------------------------------------------------------------------


def _one_line(text: Text) -> str:
    """A log line's message: Chinese, then English."""
    return f"{text.zh} / {text.en}"


def _log_key(settings: Settings) -> Any:
    """The log's signing key, made on first start; production: it must exist already and not
    lie in the data folder (a refusal, exit 2)."""
    from service.api.signing import load_or_create_key, refuse_key_in_data_folder

    if settings.production:
        refuse_key_in_data_folder(settings.signing_key_path, settings.data_dir)
    return load_or_create_key(settings.signing_key_path, create=not settings.production)


@_refusals_exit_2
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from service.api import workers
    from service.api.logs import configure_logging, get_logger
    from service.api.privacy import pseudonym_key
    from service.engine import load_rules
    from service.store import database_exists, make_private_dir, sqlite_file

    settings = _settings(args)
    configure_logging(settings.log_level)
    log = get_logger("serve")
    os.umask(OWNER_ONLY_UMASK)
    # Before anything else: a second serve on a port in use refuses (exit 2), naming it.
    shared = settings.workers > 1 and workers.supported()
    claimed = workers.claim_port(settings.host, settings.port, shared=shared)
    load_rules(settings.rules_dir)  # invalid rules: refuse to start (exit 2, problems listed)
    make_private_dir(settings.data_dir)
    log.info(
        _one_line(Text("数据目录与数据库", "data folder and database")),
        extra={"data_dir": str(settings.data_dir), "database": _where(settings)},
    )
    pseudonym_key(settings)  # once, before the workers (production: never in the data folder)
    log_key = _log_key(settings)
    log.info(
        _one_line(Text("日志签名密钥", "the log's signing key")),
        extra={"key_file": str(settings.signing_key_path), "public_key": log_key.verifier_text()},
    )
    try:
        problem = _prepare_database(
            settings, lambda text, head: log.info(_one_line(text), extra={"revision": head})
        )
    except (SQLAlchemyError, OSError) as error:
        url = settings.database_url
        if sqlite_file(url) is None and database_exists(url) is False:
            log.error(_one_line(_missing_postgres(settings)))
            return 2
        # Start anyway: /readyz says why, requests get 503 until the database answers.
        text = _unreachable(settings, error)
        log.warning(_one_line(text), extra={"error": type(error).__name__})
        problem = None
    if problem is not None:
        log.error(_one_line(problem))
        return 2

    os.environ.update(settings.to_env())
    if settings.workers > 1:
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, mode=0o700)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    log.info(
        _one_line(Text("启动", "starting")),
        extra={"host": settings.host, "port": settings.port, "workers": settings.workers},
    )
    config: dict[str, Any] = {
        "app": "service.app:app_from_env",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if shared or settings.workers <= 1:
        # A listening socket per worker: connections spread evenly (see service.api.workers).
        return workers.serve(config, claimed, settings.workers)
    claimed.close()
    uvicorn.run(**config, workers=settings.workers)
    return 0


# --- db -------------------------------------------------------------------------------------


def _revision_now(args: argparse.Namespace, settings: Settings) -> None:
    current, _ = _schema_state(settings.database_url)
    _say(args, Text(f"数据库版本：{current}", f"database at revision {current}"), stdout=True)


@_refusals_exit_2
def cmd_db_create(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from service.store import create_database, upgrade

    settings = _settings(args)
    where = _where(settings)
    _say(args, _using(settings))
    try:
        created = create_database(settings.database_url)
    except SQLAlchemyError as error:
        kind = type(error).__name__
        raise DatabaseRefused(
            f"无法建立数据库 {where}（{kind}）：请检查服务器能否连接、用户有无 CREATEDB 权限。",
            f"cannot create the database {where} ({kind}): check that the server answers and"
            " that the user may create databases (CREATEDB).",
        ) from None
    if created:
        _say(args, Text(f"已建立数据库：{where}", f"created the database {where}"))
    else:
        _say(args, Text(f"数据库已存在：{where}", f"the database already exists: {where}"))
    upgrade(settings.database_url)
    _revision_now(args, settings)
    return 0


@_refusals_exit_2
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from service.store import upgrade

    settings = _settings(args)
    _say(args, _using(settings))
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, OSError) as error:
        raise _refusal_for_failure(settings, error) from None
    _revision_now(args, settings)
    return 0


# --- keys -----------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    """The store of a database that exists and is at the code's revision; else a refusal."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.store import DecisionStore, sqlite_file

    settings = _settings(args)
    url = settings.database_url
    _say(args, _using(settings))
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseRefused.saying(_missing(settings))
    try:
        current, head = _schema_state(url)
    except (SQLAlchemyError, OSError) as error:
        raise _refusal_for_failure(settings, error) from None
    if current is None:
        raise DatabaseRefused.saying(_empty(settings))
    if current != head:
        raise DatabaseRefused.saying(_other_revision(settings, current, head))
    return DecisionStore(url)


@_refusals_exit_2
def cmd_keys_create(args: argparse.Namespace) -> int:
    with _store(args) as store:
        key_id, secret = store.create_key(args.role, args.name)
    _say(
        args,
        Text(
            f"已建立密钥 {key_id}（角色 {args.role}，名称 {args.name!r}）；"
            "下面的密钥只显示这一次，不会保存：请现在记下。",
            f"created key {key_id} (role {args.role}, name {args.name!r});"
            " the key below is shown once and never stored: keep it now",
        ),
    )
    print(secret)
    return 0


@_refusals_exit_2
def cmd_keys_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        rows = [
            {
                "key_id": k.id,
                "name": k.name,
                "role": k.role,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in store.list_keys()
        ]
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


@_refusals_exit_2
def cmd_keys_revoke(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if not store.revoke(args.key_id):
            _say(
                args,
                Text(f"没有有效的密钥 {args.key_id}", f"no active key {args.key_id}"),
            )
            return 1
    _say(args, Text(f"已吊销 {args.key_id}", f"revoked {args.key_id}"), stdout=True)
    return 0


# --- the command line -------------------------------------------------------------------------


def _help_text(text: str) -> str:
    return text.replace("%", "%%")  # argparse formats help with %


def _db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help=(
            "database URL: sqlite:///path/file.db or postgresql://user:password@host:5432/name"
            " (default: $ELIGIBILITY_DB_URL, else decisions.db in the data folder)"
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="FOLDER",
        help=_help_text(
            "data folder: the SQLite database, the workers' metrics"
            " (default: $ELIGIBILITY_DATA_DIR, else the per-user data folder"
            f" $XDG_DATA_HOME/eligibility or ~/.local/share/eligibility, here {default_data_dir()})"
        ),
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``serve``, ``db``, ``keys`` and ``audit`` to the command line's sub-commands."""
    serve = sub.add_parser(
        "serve",
        help="run the HTTP service",
        description="Run the HTTP service. It migrates an empty database on start.",
    )
    serve.add_argument(
        "--host",
        default=None,
        help="address to listen on (default: $ELIGIBILITY_HOST, else 127.0.0.1)",
    )
    serve.add_argument(
        "--port", type=int, default=None, help="port (default: $ELIGIBILITY_PORT, else 8000)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: $ELIGIBILITY_WORKERS, else 1)",
    )
    _db_options(serve)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="create or migrate the decision database")
    dsub = db.add_subparsers(dest="db_command", required=True)
    create = dsub.add_parser(
        "create",
        help="create the database (PostgreSQL: on its server; SQLite: the file) and migrate it",
        description=(
            "Create the database and migrate it. PostgreSQL: CREATE DATABASE through the"
            " server's maintenance database (postgres, else template1); SQLite: the file,"
            " readable by its owner only. An existing database is migrated only."
        ),
    )
    _db_options(create)
    create.set_defaults(func=cmd_db_create)
    up = dsub.add_parser(
        "upgrade",
        help="apply the migrations (Alembic) up to the latest revision",
        description="Apply the migrations (Alembic) up to the latest revision.",
    )
    _db_options(up)
    up.set_defaults(func=cmd_db_upgrade)

    keys = sub.add_parser("keys", help="API keys (in an existing, migrated database)")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    key_create = ksub.add_parser("create", help="create a key and print it (once)")
    key_create.add_argument(
        "--role", required=True, choices=ROLES, help="what the key may do (required)"
    )
    key_create.add_argument(
        "--name", required=True, help="who or what uses the key, e.g. desk-1 (required)"
    )
    _db_options(key_create)
    key_create.set_defaults(func=cmd_keys_create)
    listing = ksub.add_parser("list", help="list keys (never their secrets)")
    _db_options(listing)
    listing.set_defaults(func=cmd_keys_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the key's id, as keys list shows it")
    _db_options(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)
    _register_audit(sub)


# --- audit: the log's key, checkpoints, export, offline check ----------------------------------


def _key_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "key", None)
    return Path(given).expanduser().absolute() if given else _settings(args).signing_key_path


@_refusals_exit_2
def cmd_keygen(args: argparse.Namespace) -> int:
    from service.api.signing import public_key_path, write_new_key

    path = _key_path(args)
    key = write_new_key(path, args.name)
    _say(
        args,
        Text(
            f"已写入日志签名密钥 {path}（仅所有者可读）和公钥 {public_key_path(path)}；"
            "下面是公钥，请交给审计人员：",
            f"wrote the log's signing key {path} (owner only) and its public key"
            f" {public_key_path(path)}; the public key, for the auditors:",
        ),
    )
    print(key.verifier_text())
    return 0


@_refusals_exit_2
def cmd_public_key(args: argparse.Namespace) -> int:
    from service.api.signing import load_key

    print(load_key(_key_path(args)).verifier_text())
    return 0


@_refusals_exit_2
def cmd_checkpoint(args: argparse.Namespace) -> int:
    with _store(args) as store:
        latest = store.latest_checkpoint()
    if latest is None:
        _say(args, Text("日志还没有签名检查点", "the log has no signed checkpoint yet"))
        return 1
    sys.stdout.write(latest.note)
    return 0


def _leaves(
    entries: Iterator[tuple[int, str, str, dict[str, object]]],
) -> Iterator[tuple[int, str, bytes, dict[str, object]]]:
    """The export's records: seq, id, leaf data and the fields the record's hash covers."""
    from service.store.hashing import log_leaf_data

    for seq, decision_id, record_hash, fields in entries:
        try:
            leaf = log_leaf_data(record_hash)
        except ValueError:  # not a hash any more: exported as it is, the check will say so
            leaf = record_hash.encode("utf-8", "replace")
        yield seq, decision_id, leaf, fields


def leaf_of_record(fields: dict[str, Any]) -> bytes:
    """A record's leaf data from its exported fields: the store's recipe (the SHA-256 of their
    canonical JSON, as 32 bytes), so the offline check holds each record's content too."""
    from service.store.hashing import log_leaf_data, record_hash

    return log_leaf_data(record_hash(fields))


@_refusals_exit_2
def cmd_export(args: argparse.Namespace) -> int:
    from service.tlog.checkpoint import Checkpoint
    from service.tlog.export import write_export

    with _store(args) as store:
        latest = store.latest_checkpoint()
        origin = None
        if latest is not None:
            # The origin as the checkpoint says it (its text's first line; not trusted here).
            origin = Checkpoint.parse(latest.note[: latest.note.index("\n\n") + 1]).origin
        try:
            summary = write_export(
                args.out,
                _leaves(store.log_entries()),
                (c.note for c in store.checkpoints()),
                origin=origin,
            )
        except OSError as error:
            raise BilingualError(
                f"无法写入 {args.out}（{type(error).__name__}）",
                f"cannot write {args.out} ({type(error).__name__})",
            ) from None
    _say(
        args,
        Text(
            f"已导出 {summary.records} 条记录、{summary.checkpoints} 个检查点到 {args.out}",
            f"exported {summary.records} records and {summary.checkpoints} checkpoints"
            f" to {args.out}",
        ),
    )
    return 0


def _text_or_file(value: str, what: Text) -> str:
    """A file's content, or the value itself when no such file exists (a pasted key)."""
    path = Path(value).expanduser()
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as error:
            kind = type(error).__name__
            raise BilingualError(
                f"无法读取{what.zh} {path}（{kind}）", f"cannot read the {what.en} {path} ({kind})"
            ) from None
    return value


@_refusals_exit_2
def cmd_check(args: argparse.Namespace) -> int:
    from service.tlog.check import check_export

    if not Path(args.file).is_file():
        raise BilingualError(f"没有导出文件 {args.file}", f"no export file at {args.file}")
    keys = [_text_or_file(k, Text("公钥文件", "public key file")).strip() for k in args.key]
    kept = None
    if args.checkpoint is not None:
        kept = _text_or_file(args.checkpoint, Text("检查点文件", "checkpoint file"))
    report = check_export(args.file, kept, keys, leaf_of_record=leaf_of_record)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        lang = args.lang if args.lang in ("zh", "en") else "both"
        print(report.render(lang))
    return 0 if report.ok else 1


def _register_audit(sub: argparse._SubParsersAction) -> None:
    """Adds ``audit`` and its sub-commands to the command line."""
    audit = sub.add_parser(
        "audit",
        help="the decision log's signing key, checkpoints, export and offline check",
        description=(
            "The decision log is a transparency log: checkpoints signed with a key kept outside"
            " the data folder. Export it and check the export offline with the public key and a"
            " checkpoint kept earlier."
        ),
    )
    asub = audit.add_subparsers(dest="audit_command", required=True)
    key_help = _help_text(
        "the signing key file (default: $ELIGIBILITY_SIGNING_KEY_FILE, else signing.key in"
        " $ELIGIBILITY_KEYS_DIR, else $XDG_CONFIG_HOME/eligibility/keys)"
    )

    keygen = asub.add_parser(
        "keygen",
        help="write the log's signing key pair and print the public key",
        description="Write a new Ed25519 key pair (FILE, owner only, and FILE.pub); never"
        " replaces an existing key. Prints the public key to give to the auditors.",
    )
    keygen.add_argument("--key", default=None, metavar="FILE", help=key_help)
    keygen.add_argument(
        "--name",
        default="eligibility/decisions",
        help="the log's name, first line of every checkpoint (default: eligibility/decisions)",
    )
    keygen.set_defaults(func=cmd_keygen)

    public = asub.add_parser("public-key", help="print the log's public (verifier) key")
    public.add_argument("--key", default=None, metavar="FILE", help=key_help)
    public.set_defaults(func=cmd_public_key)

    checkpoint = asub.add_parser(
        "checkpoint", help="print the latest signed checkpoint (keep it: audit check uses it)"
    )
    _db_options(checkpoint)
    checkpoint.set_defaults(func=cmd_checkpoint)

    export = asub.add_parser(
        "export",
        help="write the log (each record, its leaf, every signed checkpoint) to a file",
        description="Write the log to FILE (JSON Lines): each record's seq, id, leaf data and"
        " the fields its hash covers (the stored request is pseudonymised), then every signed"
        " checkpoint. An auditor checks it with audit check, offline.",
    )
    export.add_argument("--out", required=True, metavar="FILE", help="the export file (required)")
    _db_options(export)
    export.set_defaults(func=cmd_export)

    check = asub.add_parser(
        "check",
        help="check an export offline (no database): rewrites, truncation, forged checkpoints",
        description="Rebuild the log's tree from the export and check every checkpoint's"
        " signature and root, and that the log extends the checkpoint you kept. Exit 0: intact;"
        " 1: not (the first bad record named); 2: an input cannot be used.",
    )
    check.add_argument("file", help="the export file")
    check.add_argument(
        "--key",
        required=True,
        action="append",
        metavar="PUBLIC",
        help="the log's public key: a file holding it, or the key text (required; again for"
        " each older key after a rotation)",
    )
    check.add_argument(
        "--checkpoint",
        default=None,
        metavar="KEPT",
        help="a signed checkpoint you kept earlier (a file): the log must extend it",
    )
    check.add_argument("--json", action="store_true", help="the report as JSON")
    check.add_argument(
        "--lang",
        choices=("zh", "en", "both"),
        default="both",
        help="language of the report (default: both)",
    )
    check.set_defaults(func=cmd_check)
