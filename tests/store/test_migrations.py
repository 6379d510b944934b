"""Programmatic Alembic migrations: idempotent, race-safe, and in sync with the models."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from service.store import DecisionStore, alembic_config, current_revision, make_engine, upgrade
from service.store.migrate import MIGRATIONS_DIR
from service.store.models import Base, ChainHeadRow

HEAD_REVISION = "0006"

TABLES = {
    "decisions",
    "rule_bundles",
    "api_keys",
    "chain_head",
    "decision_programs",
    "log_nodes",
    "log_checkpoints",
    "idempotency_keys",
    "console_sessions",
}


def test_config_points_at_package_migrations() -> None:
    cfg = alembic_config()
    assert cfg.get_main_option("script_location") == str(MIGRATIONS_DIR)
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_head_revision_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_postgres_compresses_stored_texts_with_lz4(db_url: str) -> None:
    # The stored request and response are compressed while the chain lock is held: lz4,
    # where the server has it (SQLite: nothing to check beyond the upgrade itself).
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        if engine.dialect.name != "postgresql":
            return
        with engine.connect() as conn:
            available = conn.exec_driver_sql(
                "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
            ).scalar()
            methods = dict(
                conn.exec_driver_sql(
                    "SELECT attname, attcompression FROM pg_attribute"
                    " WHERE attrelid = 'decisions'::regclass"
                    " AND attname IN ('request_json', 'response_json')"
                ).all()
            )
    finally:
        engine.dispose()
    expected = "l" if "lz4" in available else ""
    assert methods == {"request_json": expected, "response_json": expected}


def test_upgrade_empty_database_then_again(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None
    upgrade(empty_db_url)
    assert current_revision(empty_db_url) == HEAD_REVISION
    upgrade(empty_db_url)  # second run: no-op, no error
    assert current_revision(empty_db_url) == HEAD_REVISION

    engine = make_engine(empty_db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            # The chain head row is seeded once, not once per upgrade() call.
            assert conn.execute(select(func.count()).select_from(ChainHeadRow)).scalar_one() == 1
    finally:
        engine.dispose()
    with DecisionStore(empty_db_url) as store:
        assert store.verify().ok and store.head().seq == 0


def test_concurrent_upgrades_do_not_collide(empty_db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            upgrade(empty_db_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert current_revision(empty_db_url) == HEAD_REVISION


def test_models_match_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
