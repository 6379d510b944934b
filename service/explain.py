"""A decision as readable text for the intake window: per program the result, the amount and
the decisive reasons, in Chinese, then in English. Built only from the response document."""

from __future__ import annotations

from typing import Any

PROGRAM_NAMES = {
    "tekun": ("特困人员救助供养", "Extreme-poverty support (特困)"),
    "dibao": ("最低生活保障", "Minimum living guarantee (低保)"),
    "marginal": ("低保边缘家庭", "Marginal low-income household (低保边缘)"),
    "rigid_expenditure": ("刚性支出困难家庭", "Rigid-expenditure hardship household"),
    "temporary": ("临时救助", "Temporary assistance (临时救助)"),
}
STATUS_NAMES = {
    "eligible": ("符合", "eligible"),
    "ineligible": ("不符合", "not eligible"),
    "insufficient_data": ("信息不全，暂无法认定", "cannot be decided: facts missing"),
    "not_applicable": ("不适用", "not applicable"),
}
BASIS_NAMES = {
    "household": ("按家庭", "household"),
    "gradual_exit": ("渐退期", "gradual exit"),
    "single_person": ("单人户", "single-person inclusion"),
}


def _amount(program: str, result: dict[str, Any]) -> str | None:
    if program == "tekun":
        parts = [
            f"{m['member']}: {m['monthly_amount']}"
            for m in result.get("members", [])
            if m.get("monthly_amount")
        ]
        return ", ".join(parts) or None
    return result.get("monthly_amount") or result.get("amount")


def explain(response: dict[str, Any]) -> str:
    """Chinese block, then English block."""
    blocks = []
    for lang in (0, 1):
        lines = []
        ruleset = response["ruleset"]
        if lang == 0:
            lines.append(
                f"辖区 {response['jurisdiction']}，认定日期 {response['as_of']}，规则版本 {ruleset['version']}（{ruleset['sha256'][:12]}）"
            )
        else:
            lines.append(
                f"Jurisdiction {response['jurisdiction']}, decision date {response['as_of']}, rules of {ruleset['version']} ({ruleset['sha256'][:12]})"
            )
        by_step: dict[str, list[dict[str, Any]]] = {}
        for step in response["trace"]:
            by_step.setdefault(step["step"], []).append(step)
        for program, result in response["programs"].items():
            name = PROGRAM_NAMES[program][lang]
            status = STATUS_NAMES[result["status"]][lang]
            line = f"■ {name}：{status}" if lang == 0 else f"■ {name}: {status}"
            basis = result.get("basis")
            if basis:
                line += (
                    f"（{BASIS_NAMES[basis][0]}）" if lang == 0 else f" ({BASIS_NAMES[basis][1]})"
                )
            amount = _amount(program, result)
            if amount and result["status"] == "eligible":
                line += f"，每月 {amount} 元" if lang == 0 and program != "temporary" else ""
                line += f"，救助 {amount} 元" if lang == 0 and program == "temporary" else ""
                line += f", {amount} a month" if lang == 1 and program != "temporary" else ""
                line += f", {amount} one-off" if lang == 1 and program == "temporary" else ""
            lines.append(line)
            if result["status"] == "not_applicable" and "not_requested" in result.get(
                "reasons", []
            ):
                continue
            # (member or None, reason) pairs: 特困 is decided per member.
            if program == "tekun":
                wanted = [
                    (m["member"], r)
                    for m in result.get("members", [])
                    for r in m.get("reasons", [])
                ]
            else:
                wanted = [(None, r) for r in result.get("reasons", [])]
            for member, reason in wanted:
                for step in by_step.get(reason, []):
                    if member is not None and step.get("member") != member:
                        continue
                    if step["outcome"] == "pass" and result["status"] != "eligible":
                        continue
                    who = f"[{step['member']}] " if step.get("member") else ""
                    lines.append(
                        f"    - {who}{step['message_zh'] if lang == 0 else step['message_en']}"
                    )
            for step in response["trace"]:
                if (
                    step["program"] == program
                    and step["step"].endswith(".amount")
                    and result["status"] == "eligible"
                ):
                    who = f"[{step['member']}] " if step.get("member") else ""
                    lines.append(
                        f"    - {who}{step['message_zh'] if lang == 0 else step['message_en']}"
                    )
        if response.get("missing"):
            lines.append("缺少的信息：" if lang == 0 else "Missing facts:")
            for item in response["missing"]:
                lines.append(f"    - {item['field']} ({item['program']})")
        if response.get("provisional"):
            lines.append(
                "使用了暂定参数（无公开来源）："
                if lang == 0
                else "Provisional parameters used (no public source):"
            )
            lines.append("    " + ", ".join(response["provisional"]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
