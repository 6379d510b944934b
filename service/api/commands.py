"""``eligibility serve | db upgrade | keys create|list|revoke`` (registered in service.cli).

    eligibility serve [--host 127.0.0.1] [--port 8000] [--db URL] [--workers N] [--data-dir D]
    eligibility db upgrade [--db URL]
    eligibility keys create --role intake|integrator|auditor|admin --name NAME [--db URL]
    eligibility keys list [--db URL]
    eligibility keys revoke KEY_ID [--db URL]

Every option falls back to its ``ELIGIBILITY_*`` environment variable (see the README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from service import cli
from service.api.settings import Settings


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


def _schema_state(url: str) -> tuple[str | None, str | None]:
    """(current revision, head revision) of the database at ``url``."""
    from service.api.runtime import head_revision
    from service.store import current_revision

    return current_revision(url), head_revision()


def _prepare_database(settings: Settings, report: Any = None) -> str | None:
    """Migrates an empty database; returns a problem if the database is at another revision."""
    from service.store import upgrade

    url = settings.database_url
    current, head = _schema_state(url)
    if current is None:
        upgrade(url)
        if report is None:
            print(f"database migrated to revision {head}", file=sys.stderr)
        else:
            report("database migrated", extra={"revision": head})
        return None
    if current != head:
        return (
            f"the database is at revision {current}, this version needs {head}:"
            " run `eligibility db upgrade` first"
        )
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from service.api import workers
    from service.api.logs import configure_logging, get_logger
    from service.api.privacy import load_or_create_secret
    from service.engine import load_rules

    settings = _settings(args)
    configure_logging(settings.log_level)
    log = get_logger("serve")
    # The database, its WAL and the secret hold pseudonymised personal data: owner only.
    os.umask(0o077)
    load_rules(settings.rules_dir)  # invalid rules: refuse to start (exit 2, problems listed)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_secret(settings.secret, settings.secret_file)  # once, before the workers
    try:
        problem = _prepare_database(settings, log.info)
    except (SQLAlchemyError, OSError) as error:
        # Start anyway: /readyz says why, requests get 503 until the database answers.
        log.warning("database unreachable at start", extra={"error": type(error).__name__})
        problem = None
    if problem is not None:
        log.error(problem)
        return 2

    os.environ.update(settings.to_env())
    if settings.workers > 1:
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    log.info(
        "starting",
        extra={"host": settings.host, "port": settings.port, "workers": settings.workers},
    )
    config: dict[str, Any] = {
        "app": "service.api.app:app_from_env",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1 and workers.supported():
        # A listening socket per worker: connections spread evenly (see service.api.workers).
        return workers.serve(config, settings.host, settings.port, settings.workers)
    uvicorn.run(**config, workers=settings.workers)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from service.store import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    current, _ = _schema_state(settings.database_url)
    print(f"database at revision {current}")
    return 0


def _store(args: argparse.Namespace) -> Any:
    from service.store import DecisionStore

    settings = _settings(args)
    problem = _prepare_database(settings)
    if problem is not None:
        print(problem, file=sys.stderr)
        raise SystemExit(2)
    return DecisionStore(settings.database_url)


def cmd_keys_create(args: argparse.Namespace) -> int:
    with _store(args) as store:
        key_id, secret = store.create_key(args.role, args.name)
    print(
        f"created key {key_id} (role {args.role}, name {args.name!r});"
        " the key below is shown once and never stored: keep it now",
        file=sys.stderr,
    )
    print(secret)
    return 0


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


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if not store.revoke(args.key_id):
            print(f"no active key {args.key_id}", file=sys.stderr)
            return 1
    print(f"revoked {args.key_id}")
    return 0


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", default=None, help="database URL (default: $ELIGIBILITY_DB_URL or SQLite in data)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (default: $ELIGIBILITY_DATA_DIR or ./data)",
    )


def extend(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None, help="bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default: 1)")
    _db_option(serve)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="the decision database")
    dsub = db.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="apply the migrations (Alembic) up to head")
    _db_option(up)
    up.set_defaults(func=cmd_db_upgrade)

    keys = sub.add_parser("keys", help="API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key and print it (once)")
    create.add_argument(
        "--role", required=True, choices=("intake", "integrator", "auditor", "admin")
    )
    create.add_argument("--name", required=True)
    _db_option(create)
    create.set_defaults(func=cmd_keys_create)
    listing = ksub.add_parser("list", help="list keys (never their secrets)")
    _db_option(listing)
    listing.set_defaults(func=cmd_keys_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    _db_option(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)


cli.EXTENSIONS.append(extend)
# `python -m service.cli` runs the CLI as __main__, a second copy of the module: register there too.
_main = sys.modules.get("__main__")
if _main is not None and _main is not cli and hasattr(_main, "_load_extensions"):
    getattr(_main, "EXTENSIONS", []).append(extend)
