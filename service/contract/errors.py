"""Bad input → a list of problems, each naming the field path, in Chinese and English.

Used by the command line (``--jsonl`` error lines), the HTTP layer (422 bodies) and the rule-file
checks. Every kind of error pydantic can raise for our models is given our own wording in both
languages (pydantic's English is never passed on), with the limit that was broken where it helps
("at least 1 member"). Messages never repeat the submitted value: it may be personal data (ID
numbers, names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

Reason = tuple[str, str]
"""(Chinese, English)."""

# What a list holds, by the field's name, for "at least 1 member" rather than "1 item".
_LIST_UNITS: dict[str, tuple[str, str, str]] = {
    # field: (Chinese measure word + noun, English singular, English plural)
    "members": ("名成员", "member", "members"),
    "programs": ("个项目", "program", "programs"),
}
_DEFAULT_UNIT = ("项", "item", "items")


def _unit(loc: Sequence[str | int]) -> tuple[str, str, str]:
    names = [p for p in loc if isinstance(p, str)]
    return _LIST_UNITS.get(names[-1], _DEFAULT_UNIT) if names else _DEFAULT_UNIT


def _count(n: Any, unit: tuple[str, str, str]) -> Reason:
    zh, one, many = unit
    return f"{n} {zh}", f"{n} {one if str(n) == '1' else many}"


def _choices(ctx: Mapping[str, Any]) -> Reason:
    expected = str(ctx.get("expected", ""))
    values = re.findall(r"'([^']*)'", expected) or [expected]
    return (
        f"取值不在允许范围内，应为以下之一：{'、'.join(values)}",
        f"not an allowed value; must be one of: {', '.join(values)}",
    )


def _too_short(ctx: Mapping[str, Any], loc: Sequence[str | int]) -> Reason:
    zh, en = _count(ctx.get("min_length", "?"), _unit(loc))
    return f"至少应有 {zh}", f"must have at least {en}"


def _too_long(ctx: Mapping[str, Any], loc: Sequence[str | int]) -> Reason:
    zh, en = _count(ctx.get("max_length", "?"), _unit(loc))
    return f"最多只能有 {zh}", f"must have at most {en}"


# --- JSON syntax ---------------------------------------------------------------------------------

# The parser's (serde_json / jiter) descriptions of a syntax error, by their opening words.
_JSON_SYNTAX: tuple[tuple[str, str, str], ...] = (
    ("EOF while parsing a list", "数组未结束，文本就已结束", "the text ends inside an array"),
    ("EOF while parsing an object", "对象未结束，文本就已结束", "the text ends inside an object"),
    ("EOF while parsing a string", "字符串未结束，文本就已结束", "the text ends inside a string"),
    (
        "EOF while parsing a value",
        "此处应有一个值，文本却已结束",
        "the text ends where a value should be",
    ),
    ("expected `:`", "此处应为冒号 :", "a colon (:) is expected here"),
    ("expected `,` or `]`", "此处应为逗号 , 或 ]", "a comma (,) or ] is expected here"),
    ("expected `,` or `}`", "此处应为逗号 , 或 }", "a comma (,) or } is expected here"),
    ('expected `"`', '此处应为双引号 "', 'a double quote (") is expected here'),
    (
        "expected ident",
        "无法识别的字词（只允许 true、false、null）",
        "unknown word (only true, false and null)",
    ),
    ("expected value", "此处应为一个值", "a value is expected here"),
    ("trailing comma", "多余的逗号", "a comma before the closing bracket"),
    ("trailing characters", "JSON 结束后还有多余的内容", "more text after the end of the JSON"),
    (
        "key must be a string",
        "对象的键应为带双引号的字符串",
        "an object key must be a double-quoted string",
    ),
    ("invalid escape", "字符串中的转义符无效", "an invalid escape in a string"),
    ("invalid number", "数字格式无效", "an invalid number"),
    ("number out of range", "数字超出范围", "a number out of range"),
    ("invalid unicode code point", "无效的 Unicode 码点", "an invalid Unicode code point"),
    ("control character", "字符串中有控制字符", "a control character inside a string"),
    ("lone leading surrogate", "无效的 Unicode 代理对", "an invalid Unicode surrogate pair"),
    ("unexpected end of hex escape", "\\u 转义不完整", "an incomplete \\u escape"),
    ("recursion limit exceeded", "嵌套层数过多", "nested too deeply"),
    ("Detected duplicate key", "对象中有重复的键", "a key appears twice in one object"),
    ("invalid utf-8", "文本不是有效的 UTF-8 编码", "the text is not valid UTF-8"),
)
_AT_LINE = re.compile(r"at line (\d+) column (\d+)")


def json_syntax_reason(description: str) -> Reason:
    """The parser's description of a JSON syntax error → what and where, in both languages."""
    what_zh, what_en = "语法错误", "syntax error"
    lowered = description.lower()
    for start, zh, en in _JSON_SYNTAX:
        if lowered.startswith(start.lower()) or start.lower() in lowered:
            what_zh, what_en = zh, en
            break
    where = _AT_LINE.search(description)
    if where is None:
        return f"不是有效的 JSON：{what_zh}", f"not valid JSON: {what_en}"
    line, column = where.groups()
    return (
        f"不是有效的 JSON：第 {line} 行第 {column} 列，{what_zh}",
        f"not valid JSON: line {line}, column {column}: {what_en}",
    )


# --- every kind of error ---------------------------------------------------------------------------

_OBJECT: Reason = ("应为对象（{…}）", "must be an object ({…})")
_WHOLE: Reason = ("应为整数", "must be a whole number")
_NUMBER: Reason = ("应为数字", "must be a number")
_DATE: Reason = ("日期格式应为 YYYY-MM-DD", "date must be written YYYY-MM-DD")
_BOOL: Reason = ("应为布尔值 true 或 false", "must be true or false (a JSON boolean)")

_FIXED: dict[str, Reason] = {
    "missing": ("缺少必填字段", "required field is missing"),
    "extra_forbidden": ("不允许的字段（此处没有这个字段）", "unknown field, not permitted here"),
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "mapping_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "list_type": ("应为数组（[…]）", "must be a list ([…])"),
    "tuple_type": ("应为数组（[…]）", "must be a list ([…])"),
    "set_type": ("应为数组（[…]）", "must be a list ([…])"),
    "string_type": ("应为字符串", "must be a string"),
    "string_unicode": ("应为有效的 Unicode 字符串", "must be a valid Unicode string"),
    "int_type": _WHOLE,
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_parsing_size": ("整数超出范围", "the whole number is out of range"),
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": ("应为有限的数字", "must be a finite number"),
    "decimal_type": ("应为十进制数", "must be a decimal number"),
    "decimal_parsing": ("应为十进制数", "must be a decimal number"),
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_future": ("日期应在将来", "the date must be in the future"),
    "date_past": ("日期应在过去", "the date must be in the past"),
    "datetime_type": ("应为日期时间", "must be a date and time"),
    "datetime_parsing": ("应为日期时间", "must be a date and time"),
    "datetime_from_date_parsing": ("应为日期时间", "must be a date and time"),
    "json_type": ("应为 JSON 文本", "must be JSON text"),
    "none_required": ("应为 null", "must be null"),
    "union_tag_invalid": ("类型标记不在允许范围内", "not an allowed kind"),
    "union_tag_not_found": ("缺少类型标记", "the kind is missing"),
    "frozen_instance": ("不能修改", "cannot be changed"),
    "frozen_field": ("不能修改", "cannot be changed"),
}

_WITH_CONTEXT: dict[str, Callable[[Mapping[str, Any], Sequence[str | int]], Reason]] = {
    "literal_error": lambda ctx, _loc: _choices(ctx),
    "enum": lambda ctx, _loc: _choices(ctx),
    "too_short": _too_short,
    "too_long": _too_long,
    "string_too_short": lambda ctx, _loc: (
        f"至少应有 {ctx.get('min_length', '?')} 个字符",
        f"must have at least {ctx.get('min_length', '?')} character"
        + ("" if str(ctx.get("min_length")) == "1" else "s"),
    ),
    "string_too_long": lambda ctx, _loc: (
        f"最多只能有 {ctx.get('max_length', '?')} 个字符",
        f"must have at most {ctx.get('max_length', '?')} characters",
    ),
    "string_pattern_mismatch": lambda ctx, _loc: (
        f"格式不符合要求（{ctx.get('pattern', '')}）",
        f"must match the pattern {ctx.get('pattern', '')}",
    ),
    "greater_than_equal": lambda ctx, _loc: (
        f"不能小于 {ctx.get('ge')}",
        f"must be at least {ctx.get('ge')}",
    ),
    "greater_than": lambda ctx, _loc: (f"应大于 {ctx.get('gt')}", f"must be above {ctx.get('gt')}"),
    "less_than_equal": lambda ctx, _loc: (
        f"不能大于 {ctx.get('le')}",
        f"must be at most {ctx.get('le')}",
    ),
    "less_than": lambda ctx, _loc: (f"应小于 {ctx.get('lt')}", f"must be below {ctx.get('lt')}"),
    "multiple_of": lambda ctx, _loc: (
        f"应为 {ctx.get('multiple_of')} 的倍数",
        f"must be a multiple of {ctx.get('multiple_of')}",
    ),
    "decimal_max_digits": lambda ctx, _loc: (
        f"最多 {ctx.get('max_digits')} 位数字",
        f"must have at most {ctx.get('max_digits')} digits",
    ),
    "decimal_max_places": lambda ctx, _loc: (
        f"最多 {ctx.get('decimal_places')} 位小数",
        f"must have at most {ctx.get('decimal_places')} decimals",
    ),
    "decimal_whole_digits": lambda ctx, _loc: (
        f"整数部分最多 {ctx.get('whole_digits')} 位",
        f"must have at most {ctx.get('whole_digits')} digits before the point",
    ),
    "json_invalid": lambda ctx, _loc: json_syntax_reason(str(ctx.get("error", ""))),
}

TRANSLATED_TYPES = frozenset(_FIXED) | frozenset(_WITH_CONTEXT)
"""Pydantic's error types given our own wording (others say "invalid value")."""

_VALUE_ERROR_PREFIX = re.compile(r"^(Value error|Assertion failed), ?")
FALLBACK: Reason = ("取值无效", "invalid value")


def split_bilingual(message: str) -> Reason | None:
    """Our own errors are written "中文 / English"; anything else is not ours."""
    zh, sep, en = message.partition(" / ")
    if sep and re.search(r"[\u4e00-\u9fff]", zh):
        return zh.strip(), en.strip()
    return None


def reason_for(
    item: Mapping[str, Any],
    loc: Sequence[str | int] = (),
) -> Reason:
    """One pydantic error → (Chinese, English) of our own.

    A validator's ``ValueError`` that is not bilingual (none of ours) is shown in English after a
    Chinese lead-in.
    """
    kind = str(item.get("type", ""))
    ctx: Mapping[str, Any] = item.get("ctx") or {}
    message = str(item.get("msg", ""))
    own = split_bilingual(message)
    if own is not None:  # our PydanticCustomError / ValueError texts
        return own
    if kind in _WITH_CONTEXT:
        return _WITH_CONTEXT[kind](ctx, loc)
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in ("value_error", "assertion_error"):
        text = _VALUE_ERROR_PREFIX.sub("", message)
        own = split_bilingual(text)
        if own is not None:
            return own
        return f"取值无效：{text}", text
    return FALLBACK


# --- problems --------------------------------------------------------------------------------------


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


# C0 and C1 control characters and the Unicode line separators: never part of a name or a filter
# (a NUL is refused by PostgreSQL outright; the others break log lines and listings).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_characters(path: str) -> dict[str, str]:
    """The problem of a text with control characters in it (:data:`CONTROL_CHARACTERS`)."""
    return problem(
        path,
        "不得包含控制字符（如换行、制表符或空字符）",
        "must not contain control characters (line breaks, tabs, NUL)",
        "control_characters",
    )


class Refusal(Exception):
    """A request refused, with its problems and the HTTP status that says why (401, 403, 404,
    409, 413, 422, 503...). Raised wherever the refusal is found, HTTP handlers or a router of
    another package; the HTTP service answers it with the contract's error body
    (``service.api.errors``)."""

    def __init__(
        self,
        status: int,
        problems: Sequence[dict[str, str]],
        headers: Mapping[str, str] | None = None,
    ):
        self.status = status
        self.problems = list(problems)
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {[p.get('type') for p in self.problems]}")


def clean_loc(loc: Iterable[str | int]) -> list[str | int]:
    """The field path without the validator names pydantic inserts into union locations."""
    return [p for p in loc if not _is_union_tag(p)]


def problems_from_errors(
    errors: Iterable[Mapping[str, Any]], prefix: Iterable[str | int] = ()
) -> list[dict[str, str]]:
    """Pydantic error dicts (from a model or from FastAPI) → the contract's problems."""
    out: list[dict[str, str]] = []
    for item in errors:
        loc = list(prefix) + clean_loc(p for p in item.get("loc", ()) if isinstance(p, str | int))
        ctx: Mapping[str, Any] = item.get("ctx") or {}
        path = format_path(loc)
        if "at" in ctx:
            path = f"{path}.{ctx['at']}" if path else str(ctx["at"])
        zh, en = reason_for(item, loc)
        out.append(problem(path, zh, en, str(item.get("type", "value_error"))))
    return out


def problems_from_validation(
    error: ValidationError, prefix: Iterable[str | int] = ()
) -> list[dict[str, str]]:
    return problems_from_errors(error.errors(include_url=False, include_input=False), prefix)


def _is_union_tag(part: str | int) -> bool:
    # pydantic inserts validator names such as "function-before[...]" into union locations.
    return isinstance(part, str) and ("[" in part and part.endswith("]") and "-" in part)
