"""Message templates of the explanation trace, Chinese and English, and the names of every code
they can show.

Every trace message is one of these templates filled with the step's named values; no message
text is written anywhere else in the engine. Keys are ``<step id>.<variant>``. Clerks read the
Chinese to applicants, so it names the fact and the figure compared, in plain words: a code of
the contract or of a rule set (a care tier, a vehicle kind, a status, a field, a parameter) is
never shown as such but by its name in ``NAMES``, the one table of those names.
"""

from __future__ import annotations

import ast
import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from service.bilingual import Text
from service.engine.ruleset import LEAVES

# The name of every code a message or the explanation can show: kind → code → (Chinese, English).
# Kinds are the contract's vocabularies (its request and response), the ids of the rule sets'
# classified supplements, the request fields a decision can lack (``field``: ``[]`` stands for a
# list index, ``{n}`` for its ordinal) and the rule-set parameters (``parameter``: their names
# live beside their fields in the rule-set schema, ``service.engine.ruleset``).
NAMES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "program": {
        "tekun": ("特困人员救助供养", "extreme-poverty support (特困)"),
        "dibao": ("最低生活保障", "minimum living guarantee (低保)"),
        "marginal": ("低保边缘家庭", "marginal low-income household (低保边缘)"),
        "rigid_expenditure": ("刚性支出困难家庭", "rigid-expenditure hardship household"),
        "temporary": ("临时救助", "temporary assistance (临时救助)"),
    },
    "status": {
        "eligible": ("符合", "eligible"),
        "ineligible": ("不符合", "not eligible"),
        "insufficient_data": ("信息不全，暂无法认定", "undecided (facts missing)"),
        "not_applicable": ("不适用", "not applicable"),
    },
    "outcome": {
        "pass": ("符合", "met"),
        "fail": ("不符合", "not met"),
        "insufficient_data": ("信息不全", "facts missing"),
        "not_applicable": ("不适用", "not applicable"),
    },
    "basis": {
        "household": ("按家庭", "as a household"),
        "gradual_exit": ("渐退期", "gradual exit"),
        "single_person": ("单人户", "single-person inclusion"),
    },
    "care_tier": {
        "self_care": ("全自理", "self-reliant"),
        "partial": ("半失能", "partly dependent"),
        "full": ("全失能", "fully dependent"),
    },
    "residence": {"urban": ("城市", "urban"), "rural": ("农村", "rural")},
    "relation": {
        "applicant": ("申请人", "applicant"),
        "spouse": ("配偶", "spouse"),
        "child": ("子女", "child"),
        "parent": ("父母", "parent"),
        "grandparent": ("祖父母、外祖父母", "grandparent"),
        "grandchild": ("孙子女、外孙子女", "grandchild"),
        "sibling": ("兄弟姐妹", "sibling"),
        "other": ("其他亲属", "other relative"),
    },
    "disability_category": {
        "physical": ("肢体", "physical"),
        "intellectual": ("智力", "intellectual"),
        "mental": ("精神", "mental"),
        "visual": ("视力", "visual"),
        "hearing": ("听力", "hearing"),
        "speech": ("言语", "speech"),
        "multiple": ("多重", "multiple"),
    },
    "schooling": {
        "none": ("不在学", "not in school"),
        "compulsory": ("义务教育", "compulsory education"),
        "high_school": ("普通高中教育", "high school"),
        "vocational": ("中等职业教育", "secondary vocational school"),
        "undergraduate": ("本科教育", "undergraduate studies"),
    },
    "exclusion": {
        "clergy_away_3y": (
            "连续三年以上脱离家庭独立生活的宗教教职人员",
            "clergy living away from the family for three years or more",
        ),
        "prison": ("在监狱内服刑", "serving a prison sentence"),
        "compulsory_rehab": (
            "在强制隔离戒毒所执行强制隔离戒毒",
            "in compulsory drug rehabilitation",
        ),
        "missing": ("被宣告失踪", "declared missing"),
    },
    "income_type": {
        "wage": ("工资性收入", "wages"),
        "business": ("经营净收入", "business income"),
        "property": ("财产净收入", "property income"),
        "transfer": ("转移净收入", "transfer income"),
        "other": ("其他收入", "other income"),
        "special_care_pension": ("优待抚恤金", "special-care pension"),
        "family_planning_reward": ("计划生育奖励与扶助金", "family-planning reward"),
        "scholarship": ("奖学金", "scholarship"),
        "reward": ("见义勇为等奖励性补助", "reward payment"),
        "social_assistance": ("社会救助款物", "social-assistance money"),
        "basic_pension_base": (
            "城乡居民基本养老保险基础养老金",
            "basic pension of the residents' scheme",
        ),
        "social_insurance": ("其他社会保险待遇", "other social-insurance benefit"),
        "old_age_allowance": ("高龄津贴", "old-age allowance"),
    },
    "deduction_type": {
        "employment_cost": ("必要的就业成本", "necessary employment costs"),
        "disability_rigid": ("因残疾增加的刚性支出", "extra rigid spending due to disability"),
        "illness_rigid": ("因重病增加的刚性支出", "extra rigid spending due to serious illness"),
    },
    "vehicle_kind": {
        "car": ("小汽车", "car"),
        "truck": ("货车", "truck"),
        "motorcycle": ("摩托车", "motorcycle"),
        "disability_vehicle": ("残疾人代步车", "disability vehicle"),
        "large_farm_machinery": ("大型农机具", "large farm machinery"),
        "ship": ("船舶", "ship"),
        "construction_machinery": ("工程机械", "construction machinery"),
    },
    "emergency_kind": {
        "urgent": ("急难型", "urgent"),
        "expenditure": ("支出型", "expenditure-type"),
    },
    "emergency_cause": {
        "fire": ("火灾", "fire"),
        "traffic_accident": ("交通事故", "traffic accident"),
        "sudden_illness": ("突发重大疾病", "sudden serious illness"),
        "disaster": ("自然灾害", "natural disaster"),
        "other_accident": ("其他意外事件", "other accident"),
        "medical": ("医疗支出", "medical spending"),
        "education": ("教育支出", "education spending"),
        "other": ("其他原因", "other cause"),
    },
    # ids of the 分类施保 categories the shipped rule sets define (a test keeps this complete)
    "supplement": {
        "priority_groups": ("重点保障对象", "priority group"),
        "severe_or_elderly": (
            "重残、重病或高龄人员",
            "severely disabled, seriously ill or very old",
        ),
        "child_or_student": ("学龄前儿童或在校学生", "young child or student"),
        "disabled": ("残疾人员", "disabled"),
    },
    "field": {
        "residence": ("居住地（城市或农村）", "the residence (urban or rural)"),
        "household.income": ("家庭收入", "the household's income"),
        "household.assets": ("家庭财产", "the household's assets"),
        "household.assets.financial": ("金融资产", "financial assets"),
        "household.assets.vehicles": ("车辆", "vehicles"),
        "household.assets.houses": ("住房", "homes"),
        "household.assets.houses[].dilapidated": (
            "第 {n} 套住房是否为危房",
            "whether home {n} is dilapidated",
        ),
        "household.assets.houses[].area_m2": ("第 {n} 套住房的面积", "the floor area of home {n}"),
        "household.assets.commercial_property": (
            "是否有商业用房",
            "whether there is commercial property",
        ),
        "household.assets.business_capital": ("市场主体认缴出资额", "business capital"),
        "household.members[].has_capable_supporter": (
            "第 {n} 位成员是否有具备履行能力的法定赡养、抚养、扶养义务人",
            "whether member {n} has a legal supporter able to provide support",
        ),
        "household.members[].self_care_failed_items": (
            "第 {n} 位成员的生活自理能力评估",
            "the self-care assessment of member {n}",
        ),
        "household.current_benefit.income_rise_from_employment": (
            "收入增加是否因就业",
            "whether the income rise comes from employment",
        ),
        "household.current_benefit.monthly_amount": (
            "现享受的低保金额",
            "the current benefit amount",
        ),
        "household.rigid_expenditure_12m": (
            "近 12 个月刚性支出",
            "rigid spending of the last 12 months",
        ),
        "household.rigid_expenditure_12m.medical": (
            "近 12 个月医疗支出",
            "medical spending of the last 12 months",
        ),
        "household.rigid_expenditure_12m.education": (
            "近 12 个月教育支出",
            "education spending of the last 12 months",
        ),
        "household.rigid_expenditure_12m.rehabilitation": (
            "近 12 个月康复支出",
            "rehabilitation spending of the last 12 months",
        ),
        "household.rigid_expenditure_12m.other": (
            "近 12 个月其他刚性支出",
            "other rigid spending of the last 12 months",
        ),
        "emergency.already_assisted": (
            "同一事由是否已获临时救助",
            "whether the same event was already assisted",
        ),
        "emergency.cause": ("困难原因", "the cause of the emergency"),
        "emergency.assessed_need": ("评估的救助需求金额", "the assessed need"),
    },
    # the rule-set parameters are named beside their fields in the rule-set schema (ruleset.py)
    "parameter": {leaf.path: (leaf.name_zh, leaf.name_en) for leaf in LEAVES},
}

_ZH, _EN = 0, 1
_JOIN = ("、", ", ")


def name(kind: str, code: str) -> Text:
    """The name of ``code`` in both languages; the code itself where it has none yet."""
    entry = NAMES[kind].get(code)
    return Text(code, code) if entry is None else Text(*entry)


_INDEX = re.compile(r"\[(\d+)\]")


def field_name(path: str) -> Text | None:
    """The name of a request field (``household.members[2].x``: of the third member), or None."""
    numbers = _INDEX.findall(path)
    entry = NAMES["field"].get(_INDEX.sub("[]", path))
    if entry is None:
        return None
    ordinal = int(numbers[0]) + 1 if numbers else 0
    return Text(entry[_ZH].format(n=ordinal), entry[_EN].format(n=ordinal))


# --- how a template field shows its value -------------------------------------------------------
# A field named here shows its value through its function (value, language 0 zh / 1 en); every
# other field shows the value as it is (a figure, a date, a member id).

Show = Callable[[Any, int], str]


def _code(kind: str) -> Show:
    table = NAMES[kind]

    def show(code: Any, lang: int) -> str:
        entry = table.get(code)
        return str(code) if entry is None else entry[lang]

    return show


def _codes(kind: str, joins: tuple[str, str] = _JOIN) -> Show:
    one = _code(kind)

    def show(codes: Iterable[Any], lang: int) -> str:
        return joins[lang].join(one(c, lang) for c in codes)

    return show


def _fields(paths: Iterable[str], lang: int) -> str:
    shown = []
    for path in paths:
        known = field_name(path)
        shown.append(path if known is None else (known.zh, known.en)[lang])
    return _JOIN[lang].join(shown)


_GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _disability(value: str, lang: int) -> str:
    """``physical-2`` → 肢体残疾二级 / grade-2 physical disability; ``none`` → 无残疾."""
    if value == "none":
        return ("无残疾", "no disability")[lang]
    category, _, grade = value.rpartition("-")
    shown = _code("disability_category")(category, lang)
    if lang == _ZH:
        return f"{shown}残疾{_GRADE_ZH.get(int(grade), f'{grade}级')}"
    return f"grade-{grade} {shown} disability"


def _household_types(statuses: Iterable[str], lang: int) -> str:
    """``["marginal:ineligible"]`` → 低保边缘家庭：不符合."""
    program, status = _code("program"), _code("status")
    parts = []
    for item in statuses:
        kind, _, result = item.partition(":")
        if lang == _ZH:
            parts.append(f"{program(kind, lang)}：{status(result, lang)}")
        else:  # inside parentheses: the name without its own parenthesised Chinese term
            parts.append(f"{program(kind, lang).split(' (')[0]}: {status(result, lang)}")
    return ("；", "; ")[lang].join(parts)


def _members(ids: Iterable[str], lang: int) -> str:
    ids = list(ids)
    if lang == _ZH:
        return "成员 " + "、".join(ids)
    if len(ids) == 1:
        return f"member {ids[0]}"
    return f"members {', '.join(ids[:-1])} and {ids[-1]}"


def _band(value: str, lang: int) -> str:
    """A 临时救助 band ``[5000, 10000)`` in words."""
    low, _, high = value.strip("[)").partition(", ")
    if lang == _ZH:
        return f"{low} 元（含）至 {high} 元（不含）" if high else f"{low} 元（含）以上"
    return f"from {low} up to (not including) {high}" if high else f"{low} or more"


def _percent(value: str, lang: int) -> str:
    """A share ``0.9028`` as ``90.28%``."""
    return format((Decimal(value) * 100).normalize(), "f") + "%"


def date_text(value: str, lang: int) -> str:
    """An ISO date, ``2025-03-01``, as 2025年3月1日 in Chinese (0); as it is in English (1)."""
    if lang == _EN:
        return value
    year, month, day = value.split("-")
    return f"{year}年{int(month)}月{int(day)}日"


SHOW: Final[dict[str, Show]] = {
    "care_tier": _code("care_tier"),
    "schooling": _code("schooling"),
    "cause": _code("emergency_cause"),
    "dibao_status": _code("status"),
    "marginal_status": _code("status"),
    "disallowed_vehicles": _codes("vehicle_kind"),
    "categories": _codes("supplement", ("及", "; ")),
    "missing_fields": _fields,
    "disability": _disability,
    "household_type_status": _household_types,
    "tekun_undecided": _members,
    "tier": _band,
    "share": _percent,
    "share_threshold": _percent,
    "as_of": date_text,
    "exit_started": date_text,
    "exit_ends": date_text,
}


class _Shown(dict[Any, str]):
    """One field's values in one language as ``SHOW`` words them, each found once: a compiled
    message looks a value up here (no call) instead of calling its function every time."""

    __slots__ = ("show", "lang")

    def __init__(self, show: Show, lang: int):
        super().__init__()
        self.show, self.lang = show, lang

    def __missing__(self, value: Any) -> str:
        text = self.show(value, self.lang)
        if len(self) >= 4096:
            self.clear()  # bounded: dates come from requests
        self[value] = text
        return text


# The fields whose values are text (hashable), remembered by value; lists are worded each time.
_REMEMBERED = (
    "care_tier",
    "schooling",
    "cause",
    "dibao_status",
    "marginal_status",
    "disability",
    "tier",
    "share",
    "share_threshold",
    "as_of",
    "exit_started",
    "exit_ends",
)
_SHOWN: Final[dict[str, _Shown]] = {
    f"SHOWN_{field}_{lang}": _Shown(SHOW[field], lang)
    for field in _REMEMBERED
    for lang in (_ZH, _EN)
}
# the names a compiled message or entry reads
_SCOPE: Final[dict[str, Any]] = {"SHOW": SHOW, **_SHOWN}

_ASSET = {
    "pass": (
        "家庭财产状况符合规定。",
        "The household's assets are within the limits.",
    ),
    "fail": (
        "家庭财产状况不符合规定：{failed_zh}。",
        "The household's assets exceed the limits: {failed_en}.",
    ),
    "insufficient": (
        "缺少{missing_fields}的信息，无法判断家庭财产状况。",
        "Asset facts are missing ({missing_fields}), so the asset test cannot be decided.",
    ),
}
_DISPOSABLE = {
    "pass": (
        "家庭人均收入 {per_capita_income} 元，低于上年度当地居民人均可支配收入的月均值 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is below the prior-year local per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "fail": (
        "家庭人均收入 {per_capita_income} 元，不低于上年度当地居民人均可支配收入的月均值 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is not below the prior-year local per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "insufficient": (
        "缺少收入或居住地信息，无法与上年度当地居民人均可支配收入比较。",
        "Income or residence is missing, so income cannot be compared with the prior-year disposable income.",
    ),
}

TEMPLATES: Final[dict[str, tuple[str, str]]] = {
    # 特困
    "tekun.no_work_capacity.pass_elderly": (
        "现年 {age} 周岁，已满 {elderly_age} 周岁，认定为无劳动能力。",
        "Aged {age}, {elderly_age} or older: without capacity to work.",
    ),
    "tekun.no_work_capacity.pass_minor": (
        "现年 {age} 周岁，未满 {minor_age} 周岁，认定为无劳动能力。",
        "Aged {age}, under {minor_age}: without capacity to work.",
    ),
    "tekun.no_work_capacity.pass_student": (
        "现年 {age} 周岁，仍在接受{schooling}，按规定认定为无劳动能力。",
        "Aged {age} and still in {schooling}: treated as without capacity to work.",
    ),
    "tekun.no_work_capacity.pass_disability": (
        "{disability}，属于规定的残疾类别和等级，认定为无劳动能力。",
        "A {disability} is among the listed disabilities: without capacity to work.",
    ),
    "tekun.no_work_capacity.fail": (
        "现年 {age} 周岁，{disability}，年龄、残疾和在学情况均不属于无劳动能力的情形。",
        "Aged {age}, {disability}: neither age, disability nor schooling means no capacity to work.",
    ),
    "tekun.asset_test.pass": _ASSET["pass"],
    "tekun.asset_test.fail": _ASSET["fail"],
    "tekun.asset_test.insufficient": _ASSET["insufficient"],
    "tekun.no_means.pass": (
        "本人月收入 {own_income} 元，低于{standard_zh} {standard} 元，且家庭财产符合规定。",
        "Own income {own_income} a month is below the {standard_en} {standard}, and the assets are within the limits.",
    ),
    "tekun.no_means.fail_income": (
        "本人月收入 {own_income} 元，不低于{standard_zh} {standard} 元，不属于无生活来源。",
        "Own income {own_income} a month is not below the {standard_en} {standard}: has means of support.",
    ),
    "tekun.no_means.fail_assets": (
        "家庭财产不符合特困人员财产状况规定，不属于无生活来源。",
        "The household's assets exceed the limits for 特困: has means of support.",
    ),
    "tekun.no_means.insufficient": (
        "缺少收入、居住地或财产信息，无法判断是否无生活来源。",
        "Income, residence or asset facts are missing, so means of support cannot be decided.",
    ),
    "tekun.no_capable_supporter.pass": (
        "没有具备履行能力的法定赡养、抚养、扶养义务人。",
        "Has no legal supporter able to provide support.",
    ),
    "tekun.no_capable_supporter.fail": (
        "有具备履行能力的法定赡养、抚养、扶养义务人。",
        "Has a legal supporter able to provide support.",
    ),
    "tekun.no_capable_supporter.insufficient": (
        "未说明是否有具备履行能力的法定赡养、抚养、扶养义务人。",
        "It is not stated whether a legal supporter able to provide support exists.",
    ),
    "tekun.amount.with_care": (
        "基本生活标准 {basic_monthly} 元，加{care_tier}人员照料护理标准 {care_monthly} 元，合计每月 {monthly_amount} 元。",
        "Basic living {basic_monthly} plus care for a {care_tier} person {care_monthly}: {monthly_amount} a month.",
    ),
    "tekun.amount.care_not_published": (
        "基本生活标准 {basic_monthly} 元；本地未公布{care_tier}人员的照料护理标准，暂不计入；合计每月 {monthly_amount} 元。",
        "Basic living {basic_monthly}; no local care amount is published for a {care_tier} person, so none is included: {monthly_amount} a month.",
    ),
    "tekun.amount.care_unknown_tier": (
        "基本生活标准 {basic_monthly} 元；缺少生活自理能力评估结果，照料护理档次未定，暂不计入；合计每月 {monthly_amount} 元。",
        "Basic living {basic_monthly}; without the self-care assessment the care tier is not set and no care amount is included: {monthly_amount} a month.",
    ),
    # 低保
    "dibao.household.pass": (
        "共同生活的家庭成员 {household_size} 人（已认定为特困人员的成员另行供养，不计入）。",
        "{household_size} people live in the household (anyone found 特困 is supported separately and not counted).",
    ),
    "dibao.household.pass_undecided": (
        "共同生活的家庭成员 {household_size} 人；{tekun_undecided} 的特困人员认定因信息不全待定，暂计入低保家庭，信息补全后需重新核定。",
        "{household_size} people live in the household; the 特困 result of {tekun_undecided} is pending (facts missing), so they count in the 低保 household until it is decided.",
    ),
    "dibao.household.empty": (
        "全部成员已认定为特困人员，不再按低保家庭审核。",
        "Every member is 特困, so there is no 低保 household to assess.",
    ),
    "dibao.income_test.pass": (
        "家庭人均收入 {per_capita_income} 元，低于{standard_zh} {standard} 元。",
        "Per-capita income {per_capita_income} is below the {standard_en} {standard}.",
    ),
    "dibao.income_test.fail": (
        "家庭人均收入 {per_capita_income} 元，不低于{standard_zh} {standard} 元。",
        "Per-capita income {per_capita_income} is not below the {standard_en} {standard}.",
    ),
    "dibao.income_test.insufficient": (
        "缺少收入或居住地信息，无法将家庭人均收入与低保标准比较。",
        "Income or residence is missing, so per-capita income cannot be compared with the standard.",
    ),
    "dibao.asset_test.pass": _ASSET["pass"],
    "dibao.asset_test.fail": _ASSET["fail"],
    "dibao.asset_test.insufficient": _ASSET["insufficient"],
    "dibao.amount.difference": (
        "保障金额为（低保标准 {standard} 元 − 人均收入 {per_capita_income} 元）× {household_size} 人 = {difference_amount} 元，加分类施保 {supplements} 元，合计每月 {monthly_amount} 元。",
        "Benefit: (standard {standard} − per-capita income {per_capita_income}) × {household_size} people = {difference_amount}, plus classified supplements {supplements}: {monthly_amount} a month.",
    ),
    "dibao.amount.gradual_exit": (
        "原保障金额每月 {current_amount} 元，渐退期内每月发放 {monthly_amount} 元，至 {exit_ends} 止。",
        "The benefit was {current_amount} a month; during the exit period {monthly_amount} a month is paid, until {exit_ends}.",
    ),
    "dibao.classified_supplement.pass": (
        "分类施保类别为{categories}，每月增发 {supplement} 元。",
        "Classified supplement ({categories}): {supplement} more a month.",
    ),
    "dibao.gradual_exit.eligible.pass": (
        "正在享受低保，因就业使收入增加，且家庭财产符合规定，可给予渐退期。",
        "Receives 低保, income rose from employment and the assets are within the limits: a gradual exit applies.",
    ),
    "dibao.gradual_exit.eligible.fail": (
        "不符合渐退条件：收入增加并非因为就业、家庭财产不符合规定，或收入超过渐退上限。",
        "No gradual exit: the income rise is not from employment, the assets exceed the limits, or income is above the exit ceiling.",
    ),
    "dibao.gradual_exit.eligible.insufficient": (
        "未说明收入增加是否因就业，或缺少财产信息，无法判断能否给予渐退期。",
        "It is not stated whether the income rose from employment, or asset facts are missing, so the gradual exit cannot be decided.",
    ),
    "dibao.gradual_exit.period.pass": (
        "渐退期自 {exit_started} 起已满 {months_elapsed} 个月，未达 {max_months} 个月的上限，至 {exit_ends} 止。",
        "Exit period from {exit_started}: {months_elapsed} whole months of at most {max_months}; it ends {exit_ends}.",
    ),
    "dibao.gradual_exit.period.fail": (
        "渐退期自 {exit_started} 起已满 {months_elapsed} 个月，已达 {max_months} 个月的上限，于 {exit_ends} 结束。",
        "Exit period from {exit_started}: {months_elapsed} whole months, the limit of {max_months} is reached; it ended {exit_ends}.",
    ),
    "dibao.single_person.pass": (
        "本人属重度残疾或患重病，按“单人户”纳入低保：月收入 {own_income} 元，低于{standard_zh} {standard} 元，每月 {monthly_amount} 元。",
        "Included as a single-person household: own income {own_income} a month is below the {standard_en} {standard}; {monthly_amount} a month.",
    ),
    "dibao.single_person.fail_income": (
        "本人属重度残疾或患重病，但月收入 {own_income} 元，不低于{standard_zh} {standard} 元，不能按“单人户”纳入低保。",
        "Own income {own_income} a month is not below the {standard_en} {standard}: not included as a single-person household.",
    ),
    "dibao.single_person.fail_household": (
        "家庭不属于可按“单人户”纳入低保的家庭类型（{household_type_status}）。",
        "The household is not of a type that allows single-person inclusion ({household_type_status}).",
    ),
    "dibao.single_person.insufficient": (
        "家庭类型或本人收入尚无法确定（{household_type_status}），暂不能判断能否按“单人户”纳入低保。",
        "The household type or own income is undecided ({household_type_status}), so single-person inclusion cannot be decided.",
    ),
    # 低保边缘
    "marginal.precondition.pass": (
        "家庭不符合低保条件，审核是否属于低保边缘家庭。",
        "The household does not qualify for 低保, so 低保边缘 is assessed.",
    ),
    "marginal.precondition.insufficient": (
        "低保结果尚未确定，低保边缘家庭的认定随之待定。",
        "The 低保 result is undecided, so 低保边缘 is undecided too.",
    ),
    "marginal.precondition.covered": (
        "家庭已纳入低保，不再认定低保边缘家庭。",
        "The household is covered by 低保, so 低保边缘 does not apply.",
    ),
    "marginal.precondition.empty": (
        "全部成员已认定为特困人员，不认定低保边缘家庭。",
        "Every member is 特困, so 低保边缘 does not apply.",
    ),
    "marginal.income_test.pass": (
        "家庭人均收入 {per_capita_income} 元，低于{standard_zh}的 {multiplier} 倍 {threshold} 元。",
        "Per-capita income {per_capita_income} is below {multiplier} × the {standard_en}, {threshold}.",
    ),
    "marginal.income_test.pass_inclusive": (
        "家庭人均收入 {per_capita_income} 元，高于{standard_zh} {standard} 元，且不高于其 {multiplier} 倍 {threshold} 元。",
        "Per-capita income {per_capita_income} is above the {standard_en} {standard} and not above {multiplier} × it, {threshold}.",
    ),
    "marginal.income_test.fail": (
        "家庭人均收入 {per_capita_income} 元，不低于{standard_zh}的 {multiplier} 倍 {threshold} 元。",
        "Per-capita income {per_capita_income} is not below {multiplier} × the {standard_en}, {threshold}.",
    ),
    "marginal.income_test.fail_inclusive": (
        "家庭人均收入 {per_capita_income} 元，高于{standard_zh}的 {multiplier} 倍 {threshold} 元。",
        "Per-capita income {per_capita_income} is above {multiplier} × the {standard_en}, {threshold}.",
    ),
    "marginal.income_test.fail_not_above": (
        "家庭人均收入 {per_capita_income} 元，未高于{standard_zh} {standard} 元；本地低保边缘家庭的人均收入须高于低保标准。",
        "Per-capita income {per_capita_income} is not above the {standard_en} {standard}, which this city's 低保边缘 rule requires.",
    ),
    "marginal.income_test.insufficient": (
        "缺少收入或居住地信息，无法与低保边缘家庭的收入标准比较。",
        "Income or residence is missing, so income cannot be compared with the 低保边缘 threshold.",
    ),
    "marginal.asset_test.pass": _ASSET["pass"],
    "marginal.asset_test.fail": _ASSET["fail"],
    "marginal.asset_test.insufficient": _ASSET["insufficient"],
    # 刚性支出
    "rigid_expenditure.in_force.not_in_force": (
        "{as_of}本地尚未实施刚性支出困难家庭认定。",
        "Rigid-expenditure hardship recognition is not in force here on {as_of}.",
    ),
    "rigid_expenditure.precondition.pass": (
        "家庭不属于低保、特困或低保边缘家庭。",
        "The household is not 低保, 特困 or 低保边缘.",
    ),
    "rigid_expenditure.precondition.insufficient": (
        "低保为“{dibao_status}”，低保边缘家庭为“{marginal_status}”，刚性支出困难家庭的认定随之待定。",
        "低保 is “{dibao_status}” and 低保边缘 is “{marginal_status}”, so this program is undecided too.",
    ),
    "rigid_expenditure.precondition.covered": (
        "家庭已属于低保、特困或低保边缘家庭，不再认定刚性支出困难家庭。",
        "The household is already 低保, 特困 or 低保边缘, so this program does not apply.",
    ),
    "rigid_expenditure.income_test.pass": _DISPOSABLE["pass"],
    "rigid_expenditure.income_test.fail": _DISPOSABLE["fail"],
    "rigid_expenditure.income_test.insufficient": _DISPOSABLE["insufficient"],
    "rigid_expenditure.asset_test.pass": _ASSET["pass"],
    "rigid_expenditure.asset_test.fail": _ASSET["fail"],
    "rigid_expenditure.asset_test.insufficient": _ASSET["insufficient"],
    "rigid_expenditure.share_test.pass": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，占家庭年收入 {income_12m} 元的 {share}，超过 {share_threshold}。",
        "12-month rigid spending {rigid_expenditure_12m} is {share} of yearly income {income_12m}, above {share_threshold}.",
    ),
    "rigid_expenditure.share_test.pass_inclusive": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，占家庭年收入 {income_12m} 元的 {share}，达到 {share_threshold}。",
        "12-month rigid spending {rigid_expenditure_12m} is {share} of yearly income {income_12m}, at least {share_threshold}.",
    ),
    "rigid_expenditure.share_test.fail": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，占家庭年收入 {income_12m} 元的 {share}，未超过 {share_threshold}。",
        "12-month rigid spending {rigid_expenditure_12m} is {share} of yearly income {income_12m}, not above {share_threshold}.",
    ),
    "rigid_expenditure.share_test.fail_inclusive": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，占家庭年收入 {income_12m} 元的 {share}，未达到 {share_threshold}。",
        "12-month rigid spending {rigid_expenditure_12m} is {share} of yearly income {income_12m}, below {share_threshold}.",
    ),
    "rigid_expenditure.share_test.no_income_pass": (
        "家庭没有收入，近 12 个月有刚性支出 {rigid_expenditure_12m} 元。",
        "The household has no income and 12-month rigid spending of {rigid_expenditure_12m}.",
    ),
    "rigid_expenditure.share_test.no_income_fail": (
        "家庭没有收入，近 12 个月也没有刚性支出。",
        "The household has neither income nor rigid spending.",
    ),
    "rigid_expenditure.share_test.insufficient": (
        "缺少近 12 个月刚性支出或家庭收入信息，无法计算刚性支出占收入的比例。",
        "The 12-month rigid spending or the income is missing, so the spending share cannot be worked out.",
    ),
    # 临时救助
    "temporary.emergency.none": (
        "申请未涉及急难型或支出型困难，不审核临时救助。",
        "No emergency was reported, so temporary assistance is not assessed.",
    ),
    "temporary.emergency.no_members": (
        "没有计入家庭人口的成员，不审核临时救助。",
        "No member counts in the household (all are excluded), so temporary assistance is not assessed.",
    ),
    "temporary.repeat_event.pass": (
        "同一事由此前未获临时救助。",
        "The same event has not been assisted before.",
    ),
    "temporary.repeat_event.fail": (
        "同一事由已获临时救助，不予重复救助。",
        "The same event was already assisted: no repeat assistance.",
    ),
    "temporary.repeat_event.insufficient": (
        "未说明同一事由是否已获临时救助。",
        "It is not stated whether the same event was already assisted.",
    ),
    "temporary.urgent.cause.pass": (
        "困难原因为{cause}，属于急难型临时救助的情形。",
        "The cause ({cause}) is one for urgent assistance.",
    ),
    "temporary.urgent.cause.fail": (
        "困难原因为{cause}，不属于急难型临时救助的情形。",
        "The cause ({cause}) is not one for urgent assistance.",
    ),
    "temporary.urgent.cause.insufficient": (
        "未说明困难原因，无法判断是否属于急难型临时救助的情形。",
        "The cause of the emergency is not stated, so urgent assistance cannot be decided.",
    ),
    "temporary.urgent.amount.within_cap": (
        "经评估救助需求为 {assessed_need} 元，未超过救助上限 {urgent_cap} 元，救助 {amount} 元；可先行给予小额救助，最多 {advance_cap} 元。",
        "Assessed need {assessed_need} is within the cap {urgent_cap}: {amount} is granted; a small advance of up to {advance_cap} may be paid at once.",
    ),
    "temporary.urgent.amount.case_by_case": (
        "经评估救助需求为 {assessed_need} 元，超过救助上限 {urgent_cap} 元，按上限救助 {amount} 元，超出部分按“一事一议”办理；可先行给予小额救助，最多 {advance_cap} 元。",
        "Assessed need {assessed_need} exceeds the cap {urgent_cap}: {amount} is granted and the rest goes to case-by-case review (一事一议); a small advance of up to {advance_cap} may be paid at once.",
    ),
    "temporary.urgent.amount.insufficient": (
        "缺少评估的救助需求金额或居住地信息，无法确定救助金额。",
        "The assessed need or the residence is missing, so the amount cannot be set.",
    ),
    "temporary.expenditure.income_test.pass": _DISPOSABLE["pass"],
    "temporary.expenditure.income_test.fail": _DISPOSABLE["fail"],
    "temporary.expenditure.income_test.insufficient": _DISPOSABLE["insufficient"],
    "temporary.expenditure.asset_test.pass": _ASSET["pass"],
    "temporary.expenditure.asset_test.fail": _ASSET["fail"],
    "temporary.expenditure.asset_test.insufficient": _ASSET["insufficient"],
    "temporary.expenditure.tier.pass": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，属于“{tier}”一档，按低保标准的 {multiple} 倍救助 {amount} 元（上限 {cap} 元）。",
        "12-month rigid spending {rigid_expenditure_12m} falls in the band {tier}: {multiple} × the standard, {amount} (cap {cap}).",
    ),
    "temporary.expenditure.tier.below_tiers": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，低于最低一档的起点 {lowest_tier_from} 元，不予支出型临时救助。",
        "12-month rigid spending {rigid_expenditure_12m} is below the lowest band, which starts at {lowest_tier_from}: no expenditure-type assistance.",
    ),
    "temporary.expenditure.tier.insufficient": (
        "缺少近 12 个月刚性支出或居住地信息，无法确定救助档次。",
        "The 12-month rigid spending or the residence is missing, so the band cannot be set.",
    ),
}

# Phrases of a failed asset limit, joined into the asset test's failure message.
ASSET_PHRASES: Final[dict[str, tuple[str, str]]] = {
    "financial": (
        "金融资产 {financial} 元，达到或超过限额 {financial_limit} 元",
        "financial assets {financial} reach or exceed the limit {financial_limit}",
    ),
    "vehicles": (
        "拥有规定不允许的车辆（{disallowed_vehicles}）",
        "owns a vehicle that is not allowed ({disallowed_vehicles})",
    ),
    "homes": (
        "拥有住房 {homes_counted} 套，超过规定",
        "owns {homes_counted} homes, above the limit",
    ),
    "commercial_property": ("拥有商业用房", "owns commercial property"),
    "business_capital": (
        "市场主体认缴出资 {business_capital} 元，达到或超过限额 {business_capital_limit} 元",
        "business capital {business_capital} reaches or exceeds the limit {business_capital_limit}",
    ),
}

CITATION_FALLBACK: Final[dict[str, str]] = {
    "title": "社会救助暂行办法",
    "article": "—",
    "quote": "",
}

_STANDARD_LABELS: Final[dict[str, dict[str, str]]] = {
    "urban": {"standard_zh": "城市低保标准", "standard_en": "urban standard"},
    "rural": {"standard_zh": "农村低保标准", "standard_en": "rural standard"},
    "unified": {"standard_zh": "城乡统一低保标准", "standard_en": "unified standard"},
    "unknown": {"standard_zh": "低保标准", "standard_en": "standard"},
}


def label(residence: str | None, unified: bool) -> dict[str, str]:
    if unified:
        return _STANDARD_LABELS["unified"]
    return _STANDARD_LABELS[residence or "unknown"]


Render = Callable[[Mapping[str, Any]], str]


@functools.cache  # a few hundred distinct templates; compiling is slow next to rendering
def compile_template(template: str, lang: str) -> Render:
    """``template.format_map`` as a function that does not re-parse the template on each call.

    ``str.format`` parses its template on every call, which cost more than the rest of a trace
    step. The template is split once into its literal text and ``{name}`` fields and compiled
    into an f-string reading the names from the mapping. An f-string formats each value as
    ``str.format`` does (``format(value, "")``) and a missing name still raises ``KeyError``; a
    field named in ``SHOW`` shows its value in ``lang`` (``zh`` or ``en``) through its function.
    Templates are the constants of this module, never request data.
    """
    parts = _template_parts(template, "values", _LANG_INDEX[lang])
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg("values")], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    tree = ast.Expression(ast.Lambda(arguments, ast.JoinedStr(parts)))
    code = compile(ast.fix_missing_locations(tree), f"<template {template[:40]!r}>", "eval")
    render: Render = eval(code, dict(_SCOPE))  # noqa: S307 - compiled from the constant template
    return render


_LANG_INDEX = {"zh": _ZH, "en": _EN}


# (values, fmt, program, member, outcome) → the trace entry of one step
EntryBuilder = Callable[[Any, Mapping[str, Any], str, str | None, str], dict[str, Any]]


def _template_parts(template: str, mapping: str, lang: int) -> list[ast.expr]:
    parts: list[ast.expr] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(ast.Constant(literal))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(f"template field {name!r} must be a plain name: {template!r}")
        field: ast.expr = ast.Subscript(
            ast.Name(mapping, ast.Load()), ast.Constant(name), ast.Load()
        )
        if name in _REMEMBERED:  # SHOWN_name_lang[value]
            shown = ast.Name(f"SHOWN_{name}_{lang}", ast.Load())
            field = ast.Subscript(shown, field, ast.Load())
        elif name in SHOW:  # SHOW[name](value, lang)
            show = ast.Subscript(ast.Name("SHOW", ast.Load()), ast.Constant(name), ast.Load())
            field = ast.Call(show, [field, ast.Constant(lang)], [])
        parts.append(ast.FormattedValue(field, conversion=-1, format_spec=None))
    return parts


def compile_entry(
    step: str,
    zh: str,
    en: str,
    citation: Mapping[str, str],
    provisional: tuple[str, ...],
) -> EntryBuilder:
    """The trace entry of one step as one function: both messages rendered as ``compile_template``
    renders them, the fixed fields (step id, citation, provisional parameters) baked in.

    The entry has the keys, in order, that the trace has always had; ``provisional_parameters``
    is a fresh list on each call. It starts as a copy of a template entry holding the fixed
    fields: copying a dict costs less than building one from its keys. Templates are the
    constants of this module.
    """
    template: dict[str, Any] = {
        "step": step,
        "program": None,
        "member": None,
        "outcome": None,
        "values": None,
        "message_zh": None,
        "message_en": None,
        "citation": citation,
        "provisional": bool(provisional),
    }
    if provisional:
        template["provisional_parameters"] = None
    scope = {"COPY": template.copy, "PROVISIONAL": provisional, **_SCOPE}
    exec(_entry_code(zh, en, bool(provisional)), scope)  # noqa: S102 - compiled from constants
    build: EntryBuilder = scope["build"]
    return build


@functools.cache  # shared by every bundle; compiling is slow next to building an entry
def _entry_code(zh: str, en: str, provisional: bool) -> Any:
    def load(n: str) -> ast.expr:
        return ast.Name(n, ast.Load())

    def store(key: str, value: ast.expr) -> ast.stmt:
        target = ast.Subscript(ast.Name("entry", ast.Load()), ast.Constant(key), ast.Store())
        return ast.Assign([target], value)

    body: list[ast.stmt] = [
        ast.Assign([ast.Name("entry", ast.Store())], ast.Call(load("COPY"), [], [])),
        store("program", load("program")),
        store("member", load("member")),
        store("outcome", load("outcome")),
        store("values", load("values")),
        store("message_zh", ast.JoinedStr(_template_parts(zh, "fmt", _ZH))),
        store("message_en", ast.JoinedStr(_template_parts(en, "fmt", _EN))),
    ]
    if provisional:
        fresh = ast.List([ast.Starred(load("PROVISIONAL"), ast.Load())], ast.Load())
        body.append(store("provisional_parameters", fresh))
    body.append(ast.Return(load("entry")))
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(a) for a in ("values", "fmt", "program", "member", "outcome")],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    function = ast.FunctionDef("build", arguments, body, [], None, None)
    tree = ast.Module([function], [])
    return compile(ast.fix_missing_locations(tree), f"<step {zh[:40]!r}>", "exec")
