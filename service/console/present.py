"""A decision (the contract's response) as the console shows it: per program the status, the
amount and the decisive reasons with their legal citations; the missing facts, each leading to
its field; the trace by program. The reasons are the steps :func:`service.explain.decisive_steps`
picks for the clerk's summary, so the screen, the notice and ``evaluate --explain`` agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.console.fields import field_id
from service.console.text import Lang, code_name
from service.contract.request import PROGRAM_IDS
from service.engine.messages import field_name
from service.explain import decisive_steps


@dataclass
class Reason:
    text: str
    citation: str
    provisional: bool


@dataclass
class ProgramView:
    program: str
    title: str
    status: str
    status_name: str
    basis: str  # 单人户 … or ""
    amount: str  # the figure, "" when none
    amount_text: str  # 每月 994.00 元 / 救助 1000.00 元 / 成员 p1 每月 1825.00 元
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class MissingFact:
    field: str
    anchor: str
    label: str
    programs: str


def _member_prefix(step: dict[str, Any], lang: Lang) -> str:
    member = step.get("member")
    if not member:
        return ""
    return f"成员 {member}：" if lang == "zh" else f"Member {member}: "


def citation_text(citation: dict[str, Any] | None) -> str:
    if not citation:
        return ""
    return f"《{citation.get('title', '')}》{citation.get('article') or ''}"


def _amount(program: str, result: dict[str, Any], lang: Lang) -> tuple[str, str]:
    if result["status"] != "eligible":
        return "", ""
    if program == "tekun":
        paid = [m for m in result.get("members", []) if m.get("monthly_amount")]
        if not paid:
            return "", ""
        total = sum((Decimal(m["monthly_amount"]) for m in paid), Decimal("0"))
        parts = [
            f"成员 {m['member']} 每月 {m['monthly_amount']} 元"
            if lang == "zh"
            else f"member {m['member']}: {m['monthly_amount']} a month"
            for m in paid
        ]
        return f"{total:.2f}", ("；" if lang == "zh" else "; ").join(parts)
    if program == "temporary":
        amount = result.get("amount")
        if not amount:
            return "", ""
        return amount, (f"救助 {amount} 元" if lang == "zh" else f"{amount} one-off")
    amount = result.get("monthly_amount")
    if not amount:
        return "", ""
    return amount, (f"每月 {amount} 元" if lang == "zh" else f"{amount} a month")


def in_order(programs: dict[str, Any]) -> list[str]:
    """The programs of a response in the reference's order (a stored response's keys are
    sorted by name)."""
    return [p for p in PROGRAM_IDS if p in programs] + sorted(set(programs) - set(PROGRAM_IDS))


def programs_view(response: dict[str, Any], lang: Lang) -> list[ProgramView]:
    out = []
    for program in in_order(response["programs"]):
        result = response["programs"][program]
        amount, amount_text = _amount(program, result, lang)
        basis = result.get("basis")
        view = ProgramView(
            program=program,
            title=code_name("program", program, lang),
            status=result["status"],
            status_name=code_name("status", result["status"], lang),
            basis=code_name("basis", basis, lang) if basis else "",
            amount=amount,
            amount_text=amount_text,
        )
        for step in decisive_steps(program, result, response):
            message = step["message_zh"] if lang == "zh" else step["message_en"]
            view.reasons.append(
                Reason(
                    _member_prefix(step, lang) + message,
                    citation_text(step.get("citation")),
                    bool(step.get("provisional")),
                )
            )
        out.append(view)
    return out


def missing_view(response: dict[str, Any], lang: Lang) -> list[MissingFact]:
    """Each missing fact once, with the programs it would decide, in the order given."""
    programs: dict[str, list[str]] = {}
    for item in response.get("missing", []):
        programs.setdefault(item["field"], []).append(item["program"])
    out = []
    for path, wanted in programs.items():
        known = field_name(path)
        label = (known.zh if lang == "zh" else known.en) if known else path
        titles = [code_name("program", p, lang) for p in wanted]
        out.append(
            MissingFact(path, field_id(path), label, ("、" if lang == "zh" else "; ").join(titles))
        )
    return out


def provisional_names(response: dict[str, Any], lang: Lang) -> list[str]:
    prefix = response["ruleset"]["id"] + "."
    names: list[str] = []
    for path in response.get("provisional", []):
        shown = code_name("parameter", path.removeprefix(prefix), lang)
        if shown not in names:
            names.append(shown)
    return names


def trace_by_program(response: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The trace's steps grouped by program, in the order of the response's programs."""
    groups: dict[str, list[dict[str, Any]]] = {p: [] for p in in_order(response["programs"])}
    for step in response["trace"]:
        groups.setdefault(step["program"], []).append(step)
    return list(groups.items())
