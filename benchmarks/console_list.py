"""The console's decisions list: server time of one page of 50 over a store of 1,000,000 decisions.

    python benchmarks/console_list.py [--backend sqlite|postgres|both] [--rows 1000000]
                                      [--runs 30] [--fresh] [--drop] [--pg-url URL]
                                      [--sqlite-path FILE]

The store is generated directly (bulk inserts, not through the service: minutes, not hours) and
kept between runs, so that a change to the query or to an index is measured again at once; the
migrations are applied to it on every run (a new index is built there). ``--fresh`` makes it
anew, ``--drop`` deletes it at the end. The rows are realistic where the list looks:

- six jurisdictions (Wuhan, Changsha, Zhumadian, Chongqing and two of its districts), unevenly;
- recorded over seven years in ``seq`` order, the decision date (``as_of``) a few days before
  the recording, some backdated by up to two years (corrections);
- every program with a status drawn per program (低保 eligible about a third of the time, 临时救助
  mostly not applicable, …), in ``programs_summary`` and in ``decision_programs``;
- sixty keys, each a desk of one jurisdiction, some busy and some seldom used (one used only in
  its first year);
- the request is a contract example and the response that example's real response, its statuses
  set to the drawn ones, without the trace (which the list never reads; it would make the store
  ten times larger). The hash chain's fields are placeholders: ``verify`` is not measured here.

Then, for each filter combination the console offers (date range, jurisdiction, program,
status, key name, and pages deep into the list through the cursor), it times --runs times
after a warm-up, and prints the median and the 95th percentile in ms of

- ``DecisionStore.list(limit=50)``, the query of the console's list page;
- ``GET /console/decisions?...`` served by the application in process (no network; signed in
  with an auditor key made in the store): the query, the key names and the HTML page;

and the target: p95 < 200 ms. Exit code 0 if every case meets it. On a shared machine the
figures carry the other processes' load: run it on a quiet one for the service's own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.engine import Decider  # noqa: E402
from service.store import DecisionStore, make_engine, upgrade  # noqa: E402
from service.store.store import _encode_cursor  # noqa: E402

DEFAULT_PG = os.environ.get(
    "ELIGIBILITY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_DATABASE = "eligibility_bench_console_list"
TARGET_MS = 200.0
PAGE = 50
SEED = 20261202

JURISDICTIONS = {
    "wuhan": 0.34,
    "chongqing": 0.18,
    "chongqing/banan": 0.09,
    "chongqing/yubei": 0.09,
    "changsha": 0.18,
    "zhumadian": 0.12,
}
# Which contract example stands for each jurisdiction's request and response.
EXAMPLE_OF = {
    "wuhan": "wuhan-dibao-household-eligible.json",
    "chongqing": "chongqing-gradual-exit-eligible.json",
    "chongqing/banan": "chongqing-rigid-expenditure-eligible.json",
    "chongqing/yubei": "chongqing-gradual-exit-eligible.json",
    "changsha": "changsha-tekun-eligible.json",
    "zhumadian": "zhumadian-dibao-ineligible-assets.json",
}
STATUSES = {
    "tekun": {
        "ineligible": 0.78,
        "insufficient_data": 0.12,
        "eligible": 0.05,
        "not_applicable": 0.05,
    },
    "dibao": {
        "eligible": 0.34,
        "ineligible": 0.50,
        "insufficient_data": 0.11,
        "not_applicable": 0.05,
    },
    "marginal": {
        "not_applicable": 0.50,
        "eligible": 0.15,
        "ineligible": 0.30,
        "insufficient_data": 0.05,
    },
    "rigid_expenditure": {
        "not_applicable": 0.70,
        "ineligible": 0.20,
        "eligible": 0.05,
        "insufficient_data": 0.05,
    },
    "temporary": {
        "not_applicable": 0.85,
        "eligible": 0.10,
        "ineligible": 0.04,
        "insufficient_data": 0.01,
    },
}
FIRST_DAY = date(2019, 1, 1)
LAST_DAY = date(2026, 11, 30)


@dataclass(frozen=True)
class Key:
    id: str
    name: str
    jurisdiction: str
    weight: float
    first_year_only: bool = False


def make_keys(rng: random.Random) -> list[Key]:
    keys = []
    for jurisdiction in JURISDICTIONS:
        for n in range(10):
            # Zipf-like: desk 1 of a city is busy, desk 10 is seldom used.
            keys.append(
                Key(
                    id=uuid.UUID(int=rng.getrandbits(128)).hex,
                    name=f"{jurisdiction.replace('/', '-')}-desk-{n + 1:02d}",
                    jurisdiction=jurisdiction,
                    weight=1.0 / (n + 1),
                    first_year_only=n == 9,
                )
            )
    return keys


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def templates() -> dict[str, tuple[dict[str, Any], dict[str, Any], str, str]]:
    """Per jurisdiction: request, response without trace, bundle sha and version."""
    decider = Decider(ROOT / "rules")
    out = {}
    for jurisdiction, name in EXAMPLE_OF.items():
        request = json.loads((ROOT / "tests" / "examples" / name).read_text(encoding="utf-8"))
        request["jurisdiction"] = jurisdiction
        response = decider.evaluate(request)
        response.pop("trace", None)
        ruleset = response["ruleset"]
        out[jurisdiction] = (request, response, ruleset["sha256"], ruleset["version"])
    return out


def generate(
    rows: int, rng: random.Random, keys: list[Key]
) -> Iterator[tuple[dict[str, Any], list[tuple[int, str, str]]]]:
    """The decision rows in seq order, each with its decision_programs rows."""
    shapes = templates()
    span = (LAST_DAY - FIRST_DAY).days
    first_year_end = FIRST_DAY + timedelta(days=365)
    by_city = {j: [k for k in keys if k.jurisdiction == j] for j in JURISDICTIONS}
    prev = hashlib.sha256(b"genesis").hexdigest()
    for seq in range(1, rows + 1):
        day = FIRST_DAY + timedelta(days=span * (seq - 1) // rows)
        created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            seconds=rng.randrange(8 * 3600, 18 * 3600)
        )
        as_of = day - timedelta(days=rng.randrange(0, 21))
        if rng.random() < 0.01:
            as_of -= timedelta(days=rng.randrange(30, 730))
        jurisdiction = pick(rng, JURISDICTIONS)
        desks = [k for k in by_city[jurisdiction] if not k.first_year_only or day < first_year_end]
        key = rng.choices(desks, weights=[k.weight for k in desks])[0]
        request, response, sha, _ = shapes[jurisdiction]
        summary = {program: pick(rng, weights) for program, weights in STATUSES.items()}
        programs = {
            program: {**response["programs"][program], "status": status}
            for program, status in summary.items()
        }
        record = hashlib.sha256(f"{seq}".encode()).hexdigest()
        row = {
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "seq": seq,
            "created_at": created,
            "jurisdiction": jurisdiction,
            "as_of": as_of,
            "bundle_sha256": sha,
            "engine_version": response["engine_version"],
            "request_json": orjson.dumps({**request, "as_of": as_of.isoformat()}).decode(),
            "response_json": orjson.dumps(
                {**response, "as_of": as_of.isoformat(), "programs": programs}
            ).decode(),
            "actor": key.id,
            "programs_summary": orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode(),
            "prev_hash": prev,
            "record_hash": record,
        }
        prev = record
        yield row, [(seq, program, status) for program, status in summary.items()]


COLUMNS = [
    "id",
    "seq",
    "created_at",
    "jurisdiction",
    "as_of",
    "bundle_sha256",
    "engine_version",
    "request_json",
    "response_json",
    "actor",
    "programs_summary",
    "prev_hash",
    "record_hash",
]


def bundles_rows() -> list[tuple[str, str, str, str, datetime]]:
    seen = {}
    for jurisdiction, (_, _, sha, version) in templates().items():
        seen.setdefault(sha, (sha, jurisdiction, version, "{}", datetime.now(UTC)))
    return list(seen.values())


def load_sqlite(path: Path, rows: int, keys: list[Key]) -> None:
    import sqlite3

    rng = random.Random(SEED)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(s, j, v, c, t.isoformat(sep=" ")) for s, j, v, c, t in bundles_rows()],
    )
    insert = (
        f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    batch: list[tuple[Any, ...]] = []
    programs: list[tuple[int, str, str]] = []
    last = None
    for row, program_rows in progress(generate(rows, rng, keys), rows):
        row["created_at"] = row["created_at"].isoformat(sep=" ")
        row["as_of"] = row["as_of"].isoformat()
        batch.append(tuple(row[c] for c in COLUMNS))
        programs.extend(program_rows)
        last = row
        if len(batch) == 20_000:
            flush_sqlite(conn, insert, batch, programs)
    flush_sqlite(conn, insert, batch, programs)
    assert last is not None
    conn.execute(
        "UPDATE chain_head SET seq = ?, record_hash = ? WHERE id = 1",
        (last["seq"], last["record_hash"]),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def flush_sqlite(conn: Any, insert: str, batch: list[Any], programs: list[Any]) -> None:
    conn.executemany(insert, batch)
    conn.executemany(
        "INSERT INTO decision_programs (decision_seq, program, status) VALUES (?, ?, ?)", programs
    )
    batch.clear()
    programs.clear()


def load_postgres(url: str, rows: int, keys: list[Key]) -> None:
    rng = random.Random(SEED)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            for sha, jurisdiction, version, canonical, created in bundles_rows():
                cur.execute(
                    "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json, "
                    "created_at) VALUES (%s, %s, %s, %s, %s)",
                    (sha, jurisdiction, version, canonical, created),
                )
            last = None
            programs: list[tuple[int, str, str]] = []
            with cur.copy(f"COPY decisions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row, program_rows in progress(generate(rows, rng, keys), rows):
                    copy.write_row(tuple(row[c] for c in COLUMNS))
                    programs.extend(program_rows)
                    last = row
            with cur.copy(
                "COPY decision_programs (decision_seq, program, status) FROM STDIN"
            ) as copy:
                for item in programs:
                    copy.write_row(item)
            assert last is not None
            cur.execute(
                "UPDATE chain_head SET seq = %s, record_hash = %s WHERE id = 1",
                (last["seq"], last["record_hash"]),
            )
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE decisions")
            cur.execute("VACUUM ANALYZE decision_programs")
    finally:
        raw.close()
        engine.dispose()


def progress(items: Iterator[Any], total: int) -> Iterator[Any]:
    started = time.monotonic()
    for n, item in enumerate(items, 1):
        if n % 100_000 == 0:
            elapsed = time.monotonic() - started
            print(f"  {n:,} / {total:,} rows, {elapsed:.0f} s", flush=True)
        yield item


def row_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM decisions")).scalar_one())
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Case:
    name: str
    filters: dict[str, Any]


def cases(keys: list[Key], rows: int) -> list[Case]:
    busy = next(k for k in keys if k.name == "wuhan-desk-01")
    seldom = next(k for k in keys if k.name == "zhumadian-desk-09")
    first_year = next(k for k in keys if k.name == "changsha-desk-10")
    middle = _encode_cursor(rows // 2, True)
    near_end = _encode_cursor(PAGE * 3, True)
    return [
        Case("no filter, first page", {}),
        Case("no filter, page in the middle", {"cursor": middle}),
        Case("no filter, oldest pages", {"cursor": near_end}),
        Case("no filter, oldest first", {"newest_first": False}),
        Case("jurisdiction wuhan", {"jurisdiction": "wuhan"}),
        Case("jurisdiction chongqing/banan", {"jurisdiction": "chongqing/banan"}),
        Case("jurisdiction zhumadian, middle", {"jurisdiction": "zhumadian", "cursor": middle}),
        Case(
            "dates: one month, recent",
            {"date_from": date(2026, 10, 1), "date_to": date(2026, 10, 31)},
        ),
        Case(
            "dates: one month, 2020", {"date_from": date(2020, 3, 1), "date_to": date(2020, 3, 31)}
        ),
        Case(
            "dates: one year, 2021", {"date_from": date(2021, 1, 1), "date_to": date(2021, 12, 31)}
        ),
        Case("dates: from 2019 on", {"date_from": date(2019, 1, 1)}),
        Case("dates: until 2019-06", {"date_to": date(2019, 6, 30)}),
        Case("dates: one day", {"date_from": date(2023, 5, 8), "date_to": date(2023, 5, 8)}),
        Case("program dibao", {"program": "dibao"}),
        Case("dibao eligible", {"program": "dibao", "status": "eligible"}),
        Case("tekun eligible", {"program": "tekun", "status": "eligible"}),
        Case(
            "temporary insufficient_data", {"program": "temporary", "status": "insufficient_data"}
        ),
        Case("any program insufficient_data", {"status": "insufficient_data"}),
        Case("any program eligible, middle", {"status": "eligible", "cursor": middle}),
        Case("key busy", {"actor": busy.id}),
        Case("key seldom used", {"actor": seldom.id}),
        Case("key used in 2019 only", {"actor": first_year.id}),
        Case("key of another city (none)", {"actor": busy.id, "jurisdiction": "zhumadian"}),
        Case(
            "wuhan, one month 2022",
            {"jurisdiction": "wuhan", "date_from": date(2022, 6, 1), "date_to": date(2022, 6, 30)},
        ),
        Case(
            "changsha tekun eligible",
            {"jurisdiction": "changsha", "program": "tekun", "status": "eligible"},
        ),
        Case(
            "zhumadian, 2020, temporary eligible",
            {
                "jurisdiction": "zhumadian",
                "date_from": date(2020, 1, 1),
                "date_to": date(2020, 12, 31),
                "program": "temporary",
                "status": "eligible",
            },
        ),
        Case(
            "all five filters",
            {
                "jurisdiction": "wuhan",
                "date_from": date(2024, 1, 1),
                "date_to": date(2024, 12, 31),
                "program": "dibao",
                "status": "eligible",
                "actor": busy.id,
            },
        ),
        Case(
            "one year + status, middle",
            {
                "date_from": date(2021, 1, 1),
                "date_to": date(2021, 12, 31),
                "status": "insufficient_data",
                "cursor": _encode_cursor(rows // 3, True),
            },
        ),
    ]


def page_query(case: Case) -> dict[str, str]:
    """The console's query string for the case's filters (the list page's own names)."""
    names = {"date_from": "from", "date_to": "to", "actor": "key"}
    return {
        names.get(k, k): v.isoformat() if isinstance(v, date) else str(v)
        for k, v in case.filters.items()
        if k != "newest_first"
    }


class ConsolePage:
    """GET /console/decisions through the application itself (in process, no network), signed
    in as an auditor: the query, the key names and the page's HTML, as the server makes them."""

    def __init__(self, url: str, folder: Path) -> None:
        import re

        from fastapi.testclient import TestClient

        from service.api.settings import Settings
        from service.app import create_app

        with DecisionStore(url) as store:
            _, secret = store.create_key("auditor", "bench-auditor")
        settings = Settings(data_dir=folder, db_url=url, access_log=False)
        self.client = TestClient(create_app(settings))
        self.client.__enter__()
        form = self.client.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None, "no sign-in form"
        signed = self.client.post(
            "/console/login",
            data={"csrf_token": token.group(1), "api_key": secret, "next": "/console/decisions"},
        )
        assert signed.status_code == 200 and 'id="decisions' in signed.text, signed.status_code

    def get(self, case: Case) -> int:
        answer = self.client.get("/console/decisions", params=page_query(case))
        assert answer.status_code == 200, (case.name, answer.status_code)
        return answer.text.count("<tr data-decision-id=")

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def timed(call: Callable[[], int], runs: int) -> tuple[float, float, int]:
    found = call()  # warm-up (and the page size, printed)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, found


def bench(
    label: str, url: str, rows: int, runs: int, fresh: bool, loader: Callable[[], None]
) -> bool:
    keys = make_keys(random.Random(SEED + 1))
    count = row_count(url) if not fresh else -1
    if count != rows:
        print(f"{label}: generating {rows:,} decisions …", flush=True)
        started = time.monotonic()
        loader()
        print(f"{label}: generated in {time.monotonic() - started:.0f} s", flush=True)
    upgrade(url)  # a new index migration is built on the kept store here
    ok = True
    folder = Path(tempfile.mkdtemp(prefix="console-list-"))
    page = ConsolePage(url, folder)
    try:
        with DecisionStore(url) as store:
            print(f"\n{label}: {rows:,} decisions, page of {PAGE}, {runs} runs per case (ms)")
            print(f"{'':48} {'DecisionStore.list':>17}  {'GET /console/decisions':>22}")
            print(f"{'case':42} {'rows':>5} {'median':>8} {'p95':>8}  {'median':>10} {'p95':>10}")
            for case in cases(keys, rows):
                median, p95, found = timed(
                    lambda case=case: len(store.list(limit=PAGE, **case.filters)[0]), runs
                )
                if case.filters.get("newest_first", True):
                    page_median, page_p95, shown = timed(lambda case=case: page.get(case), runs)
                    assert shown == found, (case.name, shown, found)
                else:  # the page lists newest first only
                    page_median = page_p95 = 0.0
                worst = max(p95, page_p95)
                flag = "" if worst < TARGET_MS else "  over target"
                ok &= worst < TARGET_MS
                print(
                    f"{case.name:42} {found:5d} {median:8.1f} {p95:8.1f}  {page_median:10.1f}"
                    f" {page_p95:10.1f}{flag}",
                    flush=True,
                )
    finally:
        page.close()
        shutil.rmtree(folder, ignore_errors=True)
    return ok


def sqlite_run(args: argparse.Namespace) -> bool:
    path = Path(args.sqlite_path)
    url = f"sqlite:///{path}"
    keys = make_keys(random.Random(SEED + 1))

    def loader() -> None:
        path.unlink(missing_ok=True)
        upgrade(url)
        load_sqlite(path, args.rows, keys)

    if not path.exists():
        args.fresh = True
    try:
        return bench("sqlite", url, args.rows, args.runs, args.fresh, loader)
    finally:
        if args.drop:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            print(f"sqlite store kept at {path} (--drop deletes it)")


def pg_run(args: argparse.Namespace) -> bool:
    admin = make_engine(args.pg_url).execution_options(isolation_level="AUTOCOMMIT")
    base = admin.url
    url = base.set(database=PG_DATABASE).render_as_string(hide_password=False)
    keys = make_keys(random.Random(SEED + 1))
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DATABASE}
        ).scalar()
        if exists and args.fresh:
            conn.execute(text(f'DROP DATABASE "{PG_DATABASE}" WITH (FORCE)'))
        if not exists or args.fresh:
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
            args.fresh = True

    def loader() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        upgrade(url)
        load_postgres(url, args.rows, keys)

    try:
        return bench("postgres", url, args.rows, args.runs, args.fresh, loader)
    finally:
        if args.drop:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        else:
            print(f"postgres store kept in database {PG_DATABASE} (--drop deletes it)")
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--fresh", action="store_true", help="generate the store anew")
    parser.add_argument("--drop", action="store_true", help="delete the store at the end")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument(
        "--sqlite-path",
        default=str(Path(tempfile.gettempdir()) / "eligibility-console-list.db"),
    )
    args = parser.parse_args()
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= sqlite_run(args)
    if args.backend in ("postgres", "both"):
        ok &= pg_run(args)
    print(f"\ntarget: p95 < {TARGET_MS:.0f} ms in every case: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
