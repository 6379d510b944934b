"""A client generated from ``/openapi.json`` by openapi-python-client installs and works.

Integrators often start this way: generate with the tool's default settings, ``pip install`` the
package it writes, and call the service with it. The test does exactly that against a live
``uvicorn`` server on loopback: record a decision (201), read it back, verify the chain.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.engine import Decider, RuleBase
from tests.api.conftest import EXAMPLES, ServerThread, make_settings

BIN = Path(sys.executable).parent
EXAMPLE = next(path for path in EXAMPLES if path.name == "wuhan-dibao-household-eligible.json")


def _generate_and_install(document: bytes, work: Path) -> tuple[Path, str]:
    """Generate the client with default settings and ``pip install`` it; (site dir, module)."""
    (work / "openapi.json").write_bytes(document)
    # The generator's post hooks run ruff, a test dependency: find it beside this Python.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    projects = [p for p in work.iterdir() if (p / "pyproject.toml").is_file()]
    assert len(projects) == 1, generated.stdout
    site = work / "site"
    # No network: the runtime dependencies (httpx, attrs, python-dateutil) and the build backend
    # the generated project names (poetry-core) are test dependencies of this project.
    installed = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-build-isolation", "--no-index", "--target", str(site)),
            str(projects[0]),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    modules = [p.parent.name for p in site.glob("*/client.py")]
    assert len(modules) == 1, modules
    return site, modules[0]


@pytest.fixture
def generated_client(tmp_path: Path, sqlite_url: str, rule_base: RuleBase) -> Any:
    settings = make_settings(tmp_path / "data", sqlite_url, access_log=False)
    app = create_app(settings, rule_base=rule_base)
    runtime = app.state.runtime
    runtime.ensure_schema()
    keys = {
        role: runtime.store.create_key(role, f"client-{role}")[1] for role in ("intake", "auditor")
    }
    with ServerThread(app) as server:
        document = httpx.get(f"{server.url}/openapi.json").content
        site, module = _generate_and_install(document, tmp_path)
        sys.path.insert(0, str(site))
        try:
            yield importlib.import_module(module), server.url, keys, runtime.store
        finally:
            sys.path.remove(str(site))
            for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
                del sys.modules[name]


def test_generated_client_installs_records_reads_back_and_verifies(
    generated_client: Any, engine: Decider
) -> None:
    package, url, keys, store = generated_client
    client_module = importlib.import_module(f"{package.__name__}.client")
    models = importlib.import_module(f"{package.__name__}.models")
    api = {
        name: importlib.import_module(f"{package.__name__}.api.{tag}.{name}")
        for tag, name in (
            ("decisions", "record_decision"),
            ("decisions", "get_decision"),
            ("audit", "verify_chain"),
            ("caseload", "caseload_whatif"),
        )
    }
    body = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    expected = engine.evaluate(body)["programs"]["dibao"]

    intake = client_module.AuthenticatedClient(base_url=url, token=keys["intake"])
    recorded = api["record_decision"].sync_detailed(
        client=intake, body=models.EvaluationRequest.from_dict(body)
    )
    assert recorded.status_code == 201, recorded.content
    decision = recorded.parsed
    assert isinstance(decision, models.EvaluationResponse)
    assert decision.programs.dibao.status == expected["status"] == "eligible"
    assert decision.programs.dibao.monthly_amount == expected["monthly_amount"]
    assert store.get(decision.decision_id) is not None  # the record exists

    read = api["get_decision"].sync_detailed(decision.decision_id, client=intake)
    assert read.status_code == 200, read.content
    assert isinstance(read.parsed, models.DecisionRecord)
    assert read.parsed.decision_id == decision.decision_id
    assert read.parsed.response.programs.dibao.monthly_amount == expected["monthly_amount"]

    auditor = client_module.AuthenticatedClient(base_url=url, token=keys["auditor"])
    verified = api["verify_chain"].sync_detailed(client=auditor)
    assert verified.status_code == 200, verified.content
    assert isinstance(verified.parsed, models.VerifyResult)
    assert verified.parsed.ok is True
    assert verified.parsed.checked == 1

    # The caseload what-if: a JSONL body (the generated client posts it as bytes).
    types = importlib.import_module(f"{package.__name__}.types")
    wuhan = [p for p in EXAMPLES if p.name.startswith("wuhan-")]
    caseload = b"\n".join(json.dumps(json.loads(p.read_bytes())).encode() for p in wuhan)
    whatif = api["caseload_whatif"].sync_detailed(
        client=auditor,
        body=types.File(payload=io.BytesIO(caseload)),
        jurisdiction="wuhan",
        as_of=date(2022, 8, 1),
    )
    assert whatif.status_code == 200, whatif.content
    monthly = sum(
        Decimal(
            engine.evaluate(json.loads(p.read_bytes()))["programs"]["dibao"]["monthly_amount"] or 0
        )
        for p in wuhan
    )
    assert whatif.parsed["households"] == len(wuhan)
    assert Decimal(whatif.parsed["monthly_cost_before"]) == monthly

    # A key that may not read the chain gets the contract's error body, parsed as such.
    refused = api["verify_chain"].sync_detailed(client=intake)
    assert refused.status_code == 403
    assert isinstance(refused.parsed, models.ErrorResponse)
    assert refused.parsed.errors[0].reason_zh and refused.parsed.errors[0].reason_en
