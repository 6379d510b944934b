"""The rule sets: which there are, the bundle in force on a date, what changed, a reload."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool

from service.api import errors
from service.api.logs import get_logger
from service.api.runtime import Runtime
from service.engine import (
    BeforeFirstVersion,
    Bundle,
    RuleSetError,
    UnknownJurisdiction,
    diff_bundles,
)

log = get_logger("app")


def resolve(
    runtime: Runtime, jurisdiction: str, on: date, date_path: str, unknown_status: int = 404
) -> Bundle:
    """The bundle in force; refuses an unknown jurisdiction (``unknown_status``) or a date
    before its first rules (422, at ``date_path``)."""
    try:
        return runtime.rule_base().resolve(jurisdiction, on)
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        raise errors.no_rules(error, date_path, unknown_status) from None


def bundle_ref(bundle: Bundle) -> dict[str, Any]:
    return {
        "jurisdiction": bundle.jurisdiction,
        "version": bundle.version.isoformat(),
        "sha256": bundle.sha256,
        "components": list(bundle.components),
    }


def list_rulesets(runtime: Runtime) -> dict[str, Any]:
    return {"jurisdictions": runtime.rule_base().describe()}


def show_ruleset(runtime: Runtime, jurisdiction: str, as_of: date | None) -> dict[str, Any]:
    """The bundle in force on ``as_of`` (default today), its hash and each parameter's origin."""
    on = as_of or date.today()
    bundle = resolve(runtime, jurisdiction, on, "query.as_of")
    data = bundle.canonical()
    data["as_of"] = on.isoformat()
    data["sha256"] = bundle.sha256
    data["origins"] = dict(sorted(bundle.origins.items()))
    return data


def diff_ruleset(
    runtime: Runtime, jurisdiction: str, date_from: date, date_to: date
) -> dict[str, Any]:
    """The parameters that differ between the bundles in force on two dates."""
    old = resolve(runtime, jurisdiction, date_from, "query.from")
    new = resolve(runtime, jurisdiction, date_to, "query.to")
    return {
        "jurisdiction": jurisdiction,
        "from": {"date": date_from.isoformat(), **bundle_ref(old)},
        "to": {"date": date_to.isoformat(), **bundle_ref(new)},
        "changes": diff_bundles(old, new),
    }


async def reload_rules(runtime: Runtime) -> dict[str, Any]:
    """Reload ``rules/`` in every worker; an invalid set is refused with its problems (422) and
    the rules in use keep serving."""
    try:
        base = await run_in_threadpool(runtime.reload_rules)
    except RuleSetError as error:
        raise errors.rule_set_invalid(error) from None
    log.info("rules reloaded", extra={"jurisdictions": len(base.known())})
    return {
        "reloaded": True,
        "jurisdictions": {
            j: [v.effective_from.isoformat() for v in base.versions[j]] for j in base.known()
        },
    }
