"""The Docker image, as far as it can be tested without a Docker engine.

The Dockerfile's build stage is followed as written: what it COPYs is copied into a temporary
source folder, and its RUN commands run there with bash, the image's virtual environment
``/opt/eligibility`` placed in a temporary folder (same lock file, same pip options; pip's cache is
used here, the image turns it off). Then that environment's own ``eligibility serve`` starts on
SQLite in a temporary data folder, outside the checkout and without ``ELIGIBILITY_RULES_DIR``, as
the image runs it, and one endpoint of every area is called with keys made by that environment's
``eligibility keys create``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from service.engine.bundle import find_rules_dir
from tests.helpers import EXAMPLES, ROOT, load_example, wait_ready

IMAGE_VENV = "/opt/eligibility"
SHIPPED_RULE_FILES = sorted(
    p.relative_to(ROOT / "rules").as_posix()
    for p in (ROOT / "rules").rglob("*.yaml")
    if "tests" not in p.relative_to(ROOT / "rules").parts
)


# The names of the installed package's requirements that need no extra.
PRINT_REQUIREMENTS = """
import re
from importlib.metadata import requires
for line in requires("eligibility"):
    if "extra ==" not in line:
        print(re.split(r"[<>=!~;\\[ ]", line, maxsplit=1)[0].lower())
"""


@dataclass
class BuildStage:
    workdir: str
    copies: list[tuple[list[str], str]]  # (sources, destination)
    runs: list[str]


def build_stage(dockerfile: Path) -> BuildStage:
    """The COPY and RUN instructions of the Dockerfile's ``build`` stage."""
    instructions: list[str] = []
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instructions.append(pending + line)
        pending = ""
    stage = BuildStage(workdir="/", copies=[], runs=[])
    inside = False
    for instruction in instructions:
        keyword, _, rest = instruction.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            inside = rest.split()[-2:] in (["AS", "build"], ["as", "build"])
        elif inside and keyword == "WORKDIR":
            stage.workdir = rest.strip()
        elif inside and keyword == "COPY":
            *sources, destination = shlex.split(rest)
            assert not any(s.startswith("--") for s in sources), instruction
            stage.copies.append((sources, destination))
        elif inside and keyword == "RUN":
            stage.runs.append(rest.strip())
    assert stage.runs, "the Dockerfile has no build stage named 'build'"
    return stage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readme_command(after: str) -> str:
    """The first shell block of the README after the line that starts with ``after``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(after)}.*?^```bash\n(.*?)^```", text, re.M | re.S)
    assert found, f"no shell block after {after!r} in the README"
    return found.group(1).strip()


def test_the_rules_folder_is_the_setting_else_the_checkout() -> None:
    """Here the tests run from a checkout; the packaged copy is checked on the installed wheel."""
    assert find_rules_dir({"ELIGIBILITY_RULES_DIR": "/srv/rules"}) == Path("/srv/rules")
    assert find_rules_dir({}) == ROOT / "rules"
    assert find_rules_dir({"ELIGIBILITY_RULES_DIR": ""}) == ROOT / "rules"


def test_ci_runs_the_readme_test_command() -> None:
    command = readme_command("Run the tests")
    assert "requirements/test.txt" in command and "-m pytest" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci


def test_the_readme_installs_from_the_locks() -> None:
    """Both first commands set up .venv from a lock that pins every package with its hashes."""
    for after, lock in (("Set up and start", "runtime.txt"), ("Run the tests", "test.txt")):
        command = readme_command(after)
        assert command.startswith("python3 -m venv .venv && ")
        assert f".venv/bin/python -m pip install -r requirements/{lock}" in command
        pins = [
            line
            for line in (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith((" ", "#"))
        ]
        assert pins and all("==" in line and line.endswith("\\") for line in pins), lock


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment less what would make the check pass for the wrong reason: an
    active virtual environment, an import path, a rules folder or data folder set by the caller."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ELIGIBILITY_")
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PROMETHEUS_MULTIPROC_DIR")
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment installed exactly as the Dockerfile's build stage installs it."""
    stage = build_stage(ROOT / "Dockerfile")
    base = tmp_path_factory.mktemp("image")
    src, venv = base / "src", base / "opt-eligibility"
    src.mkdir()
    for sources, destination in stage.copies:
        for source in sources:
            origin = ROOT / source
            target = src / destination
            if destination.endswith("/"):
                target = target / Path(source).name
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
                shutil.copytree(origin, target, ignore=ignore)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    # `python` of the RUN lines: the interpreter running the tests (the image's is python:3.11).
    env = clean_env(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    for command in stage.runs:
        command = command.replace(IMAGE_VENV, str(venv))
        subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=src, env=env, check=True)
    return venv


def test_the_package_carries_the_shipped_rule_sets(image_venv: Path) -> None:
    """Every rule file of rules/ is in the installed package, byte for byte (test cases aside)."""
    site = next((image_venv / "lib").glob("python3.*/site-packages"))
    shipped = site / "service" / "shipped_rules"
    installed = sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file())
    assert installed == SHIPPED_RULE_FILES
    for name in SHIPPED_RULE_FILES:
        assert (shipped / name).read_bytes() == (ROOT / "rules" / name).read_bytes(), name
    assert not (site / "rules").exists()  # nothing installed at the top of site-packages


def test_a_plain_install_brings_what_the_caseload_commands_need(image_venv: Path) -> None:
    """`pip install eligibility` without an extra installs numpy, pyarrow and matplotlib."""
    requires = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", PRINT_REQUIREMENTS],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for package in ("numpy", "pyarrow", "matplotlib"):
        assert package in requires, requires


def test_a_rules_folder_that_is_set_is_used_and_a_missing_one_is_named(
    image_venv: Path, tmp_path: Path
) -> None:
    eligibility = str(image_venv / "bin" / "eligibility")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.rmtree(rules / "chongqing")
    listed = subprocess.run(
        [eligibility, "rules", "list"],
        cwd=tmp_path,
        env=clean_env(ELIGIBILITY_RULES_DIR=str(rules)),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wuhan" in listed.stdout and "chongqing" not in listed.stdout

    missing = subprocess.run(
        [eligibility, "rules", "list"],
        cwd=tmp_path,
        env=clean_env(ELIGIBILITY_RULES_DIR=str(tmp_path / "nowhere")),
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert str(tmp_path / "nowhere") in missing.stderr
    assert "找不到规则文件夹；请用 ELIGIBILITY_RULES_DIR" in missing.stderr
    assert "rules folder not found; set ELIGIBILITY_RULES_DIR" in missing.stderr


def single_adult(wage: str) -> dict[str, object]:
    """The Wuhan example's applicant living alone on ``wage`` a month."""
    request = copy.deepcopy(load_example("wuhan-dibao-household-eligible.json"))
    household = request["household"]
    household["members"] = household["members"][:1]
    household["income"] = [{"member": "m1", "type": "wage", "monthly": wage}]
    household["deductions"] = []
    return request


@pytest.fixture
def served(image_venv: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """That environment's ``eligibility serve`` on a free loopback port, SQLite in ``data``."""
    data = tmp_path / "data"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(image_venv / "bin" / "eligibility"), "serve", "--port", str(port)],
        cwd=tmp_path,
        # As the Dockerfile: the keys in their own folder (its /keys volume), apart from the data.
        env=clean_env(ELIGIBILITY_DATA_DIR=str(data), ELIGIBILITY_KEYS_DIR=str(tmp_path / "keys")),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base, tmp_path / "serve.log")
        yield base, data
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


def create_key(image_venv: Path, data: Path, role: str) -> str:
    made = subprocess.run(
        [str(image_venv / "bin" / "eligibility"), "keys", "create", "--role", role, "--name", role],
        cwd=data.parent,
        env=clean_env(ELIGIBILITY_DATA_DIR=str(data)),
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def test_the_installed_service_answers_in_every_area(
    image_venv: Path, served: tuple[str, Path]
) -> None:
    base, data = served
    intake = {"Authorization": f"Bearer {create_key(image_venv, data, 'intake')}"}
    auditor = {"Authorization": f"Bearer {create_key(image_venv, data, 'auditor')}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        # decisions: record one, read it back
        body = (EXAMPLES / "wuhan-dibao-household-eligible.json").read_bytes()
        recorded = client.post("/v1/decisions", content=body, headers=intake)
        assert recorded.status_code == 201, recorded.text
        decision = recorded.json()
        dibao = decision["programs"]["dibao"]
        assert (dibao["status"], dibao["monthly_amount"]) == ("eligible", "994.00")
        decision_id = decision["decision_id"]
        read = client.get(f"/v1/decisions/{decision_id}", headers=intake)
        assert read.status_code == 200, read.text
        assert read.json()["response"]["programs"] == decision["programs"]

        # replay with the stored bundle: identical
        replay = client.post(f"/v1/decisions/{decision_id}/replay", headers=auditor)
        assert replay.status_code == 200, replay.text
        assert replay.json()["identical"] is True

        # the audit log verifies
        verified = client.get("/v1/audit/verify", headers=auditor)
        assert verified.status_code == 200, verified.text
        assert (verified.json()["ok"], verified.json()["checked"]) == (True, 1)

        # the rule sets packaged in the wheel
        rulesets = client.get("/v1/rulesets", headers=intake)
        assert rulesets.status_code == 200, rulesets.text
        listed = json.dumps(rulesets.json())
        for jurisdiction in ("wuhan", "changsha", "zhumadian", "chongqing/banan"):
            assert jurisdiction in listed

        # caseload what-if: the urban standard 910 → 1000 brings in the adult earning 950,
        # the household of the example stays, the adult earning 1500 stays out
        caseload = [
            json.loads(body),
            single_adult("950.00"),
            single_adult("1500.00"),
        ]
        jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in caseload)
        whatif = client.post(
            "/v1/caseload/whatif",
            params={
                "jurisdiction": "wuhan",
                "as_of": "2022-08-01",
                "set": "dibao.standard.urban=1000",
            },
            content=jsonl.encode("utf-8"),
            headers={**auditor, "Content-Type": "application/x-ndjson"},
        )
        assert whatif.status_code == 200, whatif.text
        report = whatif.json()
        assert (report["households"], report["refused"]) == (3, 0)
        dibao_change = report["programs"]["dibao"]
        assert (dibao_change["gained"], dibao_change["lost"]) == (1, 0)
        assert (dibao_change["eligible_before"], dibao_change["eligible_after"]) == (1, 2)
        assert Decimal(report["monthly_cost_change"]) > 0
