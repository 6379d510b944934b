"""A decision as readable text for the intake window: per program the result, the amount and
the decisive reasons, in Chinese, then in English (or in one of them). Built from the response
document and the jurisdiction's name; every code in it is shown by its name (``NAMES``).

A refused request reads the same way: each problem's field path, then the reason.
"""

from __future__ import annotations

from typing import Any

from service.bilingual import Lang, Text
from service.engine.messages import date_text, field_name, name

_ZH, _EN = 0, 1
_AMOUNT_STEPS = (".amount", ".classified_supplement")


def _languages(lang: Lang) -> tuple[int, ...]:
    return {"zh": (_ZH,), "en": (_EN,), "both": (_ZH, _EN)}[lang]


def _pick(text: Text, lang: int) -> str:
    return text.zh if lang == _ZH else text.en


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _header(response: dict[str, Any], place: Text, lang: int) -> str:
    ruleset = response["ruleset"]
    day, version = date_text(response["as_of"], lang), date_text(ruleset["version"], lang)
    digest = ruleset["sha256"][:12]
    if lang == _ZH:
        return (
            f"辖区 {place.zh}，认定日期 {day}，适用 {version}起施行的规则（规则包校验值 {digest}）"
        )
    return (
        f"Jurisdiction {place.en}, decision date {day}, "
        f"rules in force from {version} (bundle checksum {digest})"
    )


def _result_line(program: str, result: dict[str, Any], lang: int) -> str:
    title = _pick(name("program", program), lang)
    status = _pick(name("status", result["status"]), lang)
    line = f"■ {title}：{status}" if lang == _ZH else f"■ {_capital(title)}: {status}"
    basis = result.get("basis")
    if basis:
        shown = _pick(name("basis", basis), lang)
        line += f"（{shown}）" if lang == _ZH else f" ({shown})"
    if result["status"] != "eligible":
        return line
    if program == "tekun":
        paid = [m for m in result.get("members", []) if m.get("monthly_amount")]
        if not paid:
            return line
        if lang == _ZH:
            return (
                line
                + "，"
                + "；".join(f"成员 {m['member']} 每月 {m['monthly_amount']} 元" for m in paid)
            )
        return (
            line
            + ", "
            + "; ".join(f"member {m['member']} {m['monthly_amount']} a month" for m in paid)
        )
    if program == "temporary":
        amount = result.get("amount")
        if amount:
            line += f"，救助 {amount} 元" if lang == _ZH else f", {amount} one-off"
        return line
    amount = result.get("monthly_amount")
    if amount:
        line += f"，每月 {amount} 元" if lang == _ZH else f", {amount} a month"
    return line


def _steps_shown(
    program: str, result: dict[str, Any], response: dict[str, Any]
) -> list[dict[str, Any]]:
    """The steps that decided the program's result, each once, in the order of the trace."""
    if result["status"] == "not_applicable":
        if "not_requested" in result.get("reasons", []):
            return []
        # why it does not apply (no emergency, already covered, not yet in force …)
        return [
            s
            for s in response["trace"]
            if s["program"] == program and s["outcome"] == "not_applicable"
        ]
    if program == "tekun":  # decided per member
        wanted = {(m["member"], r) for m in result.get("members", []) for r in m.get("reasons", [])}
    else:
        wanted = {(None, r) for r in result.get("reasons", [])}
    eligible = result["status"] == "eligible"
    shown = []
    for step in response["trace"]:
        if step["program"] != program:
            continue
        key = (step.get("member") if program == "tekun" else None, step["step"])
        decisive = key in wanted and (eligible or step["outcome"] != "pass")
        # an eligible result also shows how its amount was reached
        if decisive or (eligible and step["step"].endswith(_AMOUNT_STEPS)):
            shown.append(step)
    return shown


def decisive_steps(
    program: str, result: dict[str, Any], response: dict[str, Any]
) -> list[dict[str, Any]]:
    """The trace steps that decided ``program``'s result (and, for an eligible one, reached its
    amount), each once, in the order of the trace: what a clerk reads to the applicant."""
    return _steps_shown(program, result, response)


def _step_line(step: dict[str, Any], lang: int) -> str:
    message = step["message_zh"] if lang == _ZH else step["message_en"]
    member = step.get("member")
    if not member:
        return f"    - {message}"
    return f"    - 成员 {member}：{message}" if lang == _ZH else f"    - Member {member}: {message}"


def _missing_lines(missing: list[dict[str, str]], lang: int) -> list[str]:
    programs: dict[str, list[str]] = {}  # field → the programs it would decide, in order
    for item in missing:
        programs.setdefault(item["field"], []).append(item["program"])
    lines = [
        "缺少的信息（补全后可重新认定）："
        if lang == _ZH
        else "Missing facts (the undecided results can be decided once they are given):"
    ]
    for field, wanted in programs.items():
        known = field_name(field)
        titles = [_pick(name("program", p), lang) for p in wanted]
        if lang == _ZH:
            shown = f"{known.zh}（{field}）" if known else field
            lines.append(f"    - {shown}：{'、'.join(titles)}")
        else:
            shown = f"{known.en} ({field})" if known else field
            lines.append(f"    - {_capital(shown)}: {'; '.join(titles)}")
    return lines


def _provisional_lines(response: dict[str, Any], lang: int) -> list[str]:
    prefix = response["ruleset"]["id"] + "."
    names = []
    for path in response["provisional"]:
        shown = _pick(name("parameter", path.removeprefix(prefix)), lang)
        if shown not in names:
            names.append(shown)
    if lang == _ZH:
        return ["使用了暂定参数（尚无公开来源，待核实）：", "    " + "、".join(names)]
    return ["Provisional parameters used (no public source yet):", "    " + ", ".join(names)]


def _block(response: dict[str, Any], place: Text, lang: int) -> str:
    lines = [_header(response, place, lang)]
    for program, result in response["programs"].items():
        lines.append(_result_line(program, result, lang))
        lines.extend(_step_line(s, lang) for s in _steps_shown(program, result, response))
    if response.get("missing"):
        lines.extend(_missing_lines(response["missing"], lang))
    if response.get("provisional"):
        lines.extend(_provisional_lines(response, lang))
    return "\n".join(lines)


def explain(response: dict[str, Any], place: Text, lang: Lang = "both") -> str:
    """The decision for a clerk: Chinese block, then English block (or the one asked for).

    ``place`` is the jurisdiction's name (``name_zh``/``name_en`` of its rule set).
    """
    return "\n\n".join(_block(response, place, i) for i in _languages(lang)) + "\n"


def explain_refusal(problems: list[dict[str, str]], lang: Lang = "both") -> str:
    """A refused request's problems as sentences: the field path, then the reason."""
    blocks = []
    for i in _languages(lang):
        if i == _ZH:
            lines = [f"请求未被受理，共 {len(problems)} 处问题："]
            lines += [f"    - {p['path'] or '（整个请求）'}：{p['reason_zh']}" for p in problems]
        else:
            count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
            lines = [f"The request was refused ({count}):"]
            lines += [
                f"    - {p['path'] or '(the request as a whole)'}: {p['reason_en']}"
                for p in problems
            ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
