"""Bad input → a list of problems, each naming the field path, in Chinese and English.

Used by the command line (``--jsonl`` error lines) and by the HTTP layer (422 bodies). Messages
never repeat the submitted value: it may be personal data (ID numbers, names).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

# Chinese reasons for pydantic's own error types; English comes from pydantic's message.
_ZH_BY_TYPE: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段（合同中没有此字段）",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "date_from_datetime_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_type": "日期格式错误，应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期不应包含时间",
    "bool_type": "应为布尔值 true 或 false",
    "bool_parsing": "应为布尔值 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "string_type": "应为字符串",
    "string_too_short": "字符串过短",
    "string_too_long": "字符串过长",
    "list_type": "应为数组",
    "too_short": "数组元素过少",
    "too_long": "数组元素过多",
    "model_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "json_invalid": "不是有效的 JSON",
}


def format_path(loc: Sequence[str | int]) -> str:
    """('household', 'income', 0, 'monthly') → 'household.income[0].monthly'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problem(path: str, reason_zh: str, reason_en: str, type_: str) -> dict[str, str]:
    return {"path": path, "reason_zh": reason_zh, "reason_en": reason_en, "type": type_}


def problems_from_validation(
    error: ValidationError, prefix: Iterable[str | int] = ()
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in error.errors(include_url=False, include_input=False):
        loc = list(prefix) + [p for p in item["loc"] if not _is_union_tag(p)]
        ctx: dict[str, Any] = item.get("ctx") or {}
        path = format_path(loc)
        if "at" in ctx:
            path = f"{path}.{ctx['at']}" if path else str(ctx["at"])
        message: str = item["msg"]
        if " / " in message:  # our own bilingual errors: "中文 / English"
            zh, en = message.split(" / ", 1)
        else:
            zh = _ZH_BY_TYPE.get(item["type"], "取值无效")
            en = message
            if item["type"] == "literal_error" and "expected" in ctx:
                zh = f"{zh}，允许：{ctx['expected']}"
        out.append(problem(path, zh, en, item["type"]))
    return out


def _is_union_tag(part: str | int) -> bool:
    # pydantic inserts validator names such as "function-before[...]" into union locations.
    return isinstance(part, str) and ("[" in part and part.endswith("]") and "-" in part)
