"""8 concurrent writers × 200 decisions over real HTTP leave one unbroken chain of 1,600."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from service.app import create_app
from service.store import DecisionStore
from service.store.models import DecisionRow
from tests.api.conftest import EXAMPLES, ServerThread, make_settings

WRITERS = 8
PER_WRITER = 200


def test_concurrent_writers_never_fork_or_break_the_chain(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", db_url, access_log=False)
    app = create_app(settings)
    store = app.state.runtime.store
    app.state.runtime.ensure_schema()
    keys = [
        store.create_key("intake" if i % 2 else "integrator", f"w{i}")[1] for i in range(WRITERS)
    ]
    bodies = [path.read_bytes() for path in EXAMPLES]
    answered: list[list[str]] = [[] for _ in range(WRITERS)]
    failures: list[str] = []
    barrier = threading.Barrier(WRITERS)

    with ServerThread(app) as server:

        def writer(index: int) -> None:
            # The standard library's keep-alive client: light, so the server gets the CPU.
            headers = {"Authorization": f"Bearer {keys[index]}", "Content-Type": "application/json"}
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            try:
                barrier.wait()
                for i in range(PER_WRITER):
                    connection.request(
                        "POST", "/v1/decisions", bodies[(index + i) % len(bodies)], headers
                    )
                    response = connection.getresponse()
                    payload = response.read()
                    if response.status != 201:
                        failures.append(f"{response.status} {payload[:200]!r}")
                        return
                    answered[index].append(json.loads(payload)["decision_id"])
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert failures == []
    ids = [decision_id for batch in answered for decision_id in batch]
    total = WRITERS * PER_WRITER
    assert len(ids) == len(set(ids)) == total
    with DecisionStore(db_url) as check:
        with check.engine.connect() as conn:
            rows = conn.execute(
                select(DecisionRow.id, DecisionRow.seq, DecisionRow.prev_hash)
            ).all()
        assert {row.id for row in rows} == set(ids)  # every 201 has its record, nothing else
        assert sorted(row.seq for row in rows) == list(range(1, total + 1))
        assert len({row.prev_hash for row in rows}) == total  # no fork
        report = check.verify()
        assert report.ok, report
        assert report.checked == total


@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_group_commit_batches_concurrent_requests_into_one_chain(
    api_factory, sqlite_url: str, writer: str
) -> None:
    """Both group commits (ELIGIBILITY_WRITER): concurrent requests share transactions, and
    each still gets its own committed record."""
    import asyncio

    api = api_factory(sqlite_url, writer=writer)
    app = api.app
    key = api.keys["intake"]
    bodies = [path.read_bytes() for path in EXAMPLES]

    async def run() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1/decisions",
                        content=bodies[i % len(bodies)],
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    for i in range(64)
                )
            )
        assert {r.status_code for r in responses} == {201}
        return [r.json()["decision_id"] for r in responses]

    def batches() -> tuple[float, float]:
        text = api.client.get("/metrics").text
        values = dict(
            line.split(" ", 1)
            for line in text.splitlines()
            if line.startswith("eligibility_record_batch_size_")
        )
        return float(values["eligibility_record_batch_size_count"]), float(
            values["eligibility_record_batch_size_sum"]
        )

    count_before, sum_before = batches()
    ids = asyncio.run(run())
    count_after, sum_after = batches()
    assert sum_after - sum_before == 64
    if writer == "inline":
        assert count_after - count_before < 64  # several decisions per transaction
    assert len(set(ids)) == 64
    assert {api.store.get(i).id for i in ids} == set(ids)
    report = api.store.verify()
    assert report.ok and report.checked == 64
