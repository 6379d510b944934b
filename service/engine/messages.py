"""Message templates of the explanation trace, Chinese and English.

Every trace message is one of these templates filled with the step's named values; no message
text is written anywhere else in the engine. Keys are ``<step id>.<variant>``. Clerks read the
Chinese to applicants, so it names the fact and the figure compared, in plain words.
"""

from __future__ import annotations

import ast
import functools
import string
from collections.abc import Callable, Mapping
from typing import Any, Final

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
        "缺少财产信息，无法判断财产状况：{missing_fields}。",
        "Asset facts are missing, so the asset test cannot be decided: {missing_fields}.",
    ),
}

TEMPLATES: Final[dict[str, tuple[str, str]]] = {
    # 特困
    "tekun.no_work_capacity.pass_elderly": (
        "年满 {age} 周岁，达到 {elderly_age} 周岁，属于无劳动能力。",
        "Aged {age}, at least {elderly_age}: no capacity to work.",
    ),
    "tekun.no_work_capacity.pass_minor": (
        "{age} 周岁，未满 {minor_age} 周岁，属于无劳动能力。",
        "Aged {age}, under {minor_age}: no capacity to work.",
    ),
    "tekun.no_work_capacity.pass_student": (
        "{age} 周岁，仍在接受教育（{schooling}），按规定视为无劳动能力。",
        "Aged {age} and still in school ({schooling}): treated as without capacity to work.",
    ),
    "tekun.no_work_capacity.pass_disability": (
        "残疾（{disability}）属于规定的残疾类别和等级，无劳动能力。",
        "Disability ({disability}) is of a listed category and grade: no capacity to work.",
    ),
    "tekun.no_work_capacity.fail": (
        "{age} 周岁，年龄、残疾类别与等级、在学情况均不属于无劳动能力的情形。",
        "Aged {age}, disability {disability}: not among the cases without capacity to work.",
    ),
    "tekun.asset_test.pass": _ASSET["pass"],
    "tekun.asset_test.fail": _ASSET["fail"],
    "tekun.asset_test.insufficient": _ASSET["insufficient"],
    "tekun.no_means.pass": (
        "本人收入 {own_income} 元，低于{standard_zh} {standard} 元，且财产符合规定。",
        "Own income {own_income} is below the {standard_en} {standard}, and assets pass.",
    ),
    "tekun.no_means.fail_income": (
        "本人收入 {own_income} 元，不低于{standard_zh} {standard} 元，不属于无生活来源。",
        "Own income {own_income} is not below the {standard_en} {standard}: has means of support.",
    ),
    "tekun.no_means.fail_assets": (
        "家庭财产不符合特困人员财产状况规定。",
        "The household's assets exceed the 特困 asset rules.",
    ),
    "tekun.no_means.insufficient": (
        "缺少收入、居住地或财产信息，无法判断是否无生活来源。",
        "Income, residence or asset facts are missing, so means of support cannot be decided.",
    ),
    "tekun.no_capable_supporter.pass": (
        "无具备履行能力的法定赡养、抚养、扶养义务人。",
        "No legal supporter able to support.",
    ),
    "tekun.no_capable_supporter.fail": (
        "有具备履行能力的法定义务人。",
        "Has a legal supporter able to support.",
    ),
    "tekun.no_capable_supporter.insufficient": (
        "未说明是否有具备履行能力的法定义务人（has_capable_supporter）。",
        "Whether a capable legal supporter exists is not stated (has_capable_supporter).",
    ),
    "tekun.amount.with_care": (
        "基本生活标准 {basic_monthly} 元，照料护理档次 {care_tier}，照料护理标准 {care_monthly} 元，合计每月 {monthly_amount} 元。",
        "Basic living {basic_monthly}, care tier {care_tier} at {care_monthly}: {monthly_amount} a month.",
    ),
    "tekun.amount.care_not_published": (
        "基本生活标准 {basic_monthly} 元；照料护理档次 {care_tier}，本地未公布该档金额，未计入，合计每月 {monthly_amount} 元。",
        "Basic living {basic_monthly}; care tier {care_tier} has no published amount and is not included: {monthly_amount} a month.",
    ),
    "tekun.amount.care_unknown_tier": (
        "基本生活标准 {basic_monthly} 元；缺少生活自理能力评估（self_care_failed_items），照料护理档次未定，未计入。",
        "Basic living {basic_monthly}; the self-care assessment (self_care_failed_items) is missing, so no care tier is included.",
    ),
    # 低保
    "dibao.household.pass": (
        "共同生活家庭成员 {household_size} 人（已认定特困的成员单独供养，不计入）。",
        "{household_size} household members (members found 特困 are supported separately and left out).",
    ),
    "dibao.household.pass_undecided": (
        "共同生活家庭成员 {household_size} 人；成员 {undecided} 的特困认定因信息不全待定，暂计入低保家庭，补全后需重新核定。",
        "{household_size} household members; the 特困 result of {undecided} is undecided (facts missing), so they count in the 低保 household until it is decided.",
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
        "缺少收入或居住地信息，无法计算家庭人均收入与标准比较。",
        "Income or residence is missing, so per-capita income cannot be compared with the standard.",
    ),
    "dibao.asset_test.pass": _ASSET["pass"],
    "dibao.asset_test.fail": _ASSET["fail"],
    "dibao.asset_test.insufficient": _ASSET["insufficient"],
    "dibao.amount.difference": (
        "保障金额 = （标准 {standard} − 人均收入 {per_capita_income}）× {household_size} 人 = {difference_amount} 元，加分类施保 {supplements} 元，每月 {monthly_amount} 元。",
        "Benefit = (standard {standard} − per-capita income {per_capita_income}) × {household_size} = {difference_amount}, plus supplements {supplements}: {monthly_amount} a month.",
    ),
    "dibao.amount.gradual_exit": (
        "渐退期内保持原保障金额 {current_amount} 元，每月 {monthly_amount} 元，渐退期至 {exit_ends}。",
        "During the exit period the benefit stays at {monthly_amount} a month (was {current_amount}), until {exit_ends}.",
    ),
    "dibao.classified_supplement.pass": (
        "分类施保：符合 {categories}，每月增发 {supplement} 元。",
        "Classified supplement for {categories}: {supplement} a month.",
    ),
    "dibao.gradual_exit.eligible.pass": (
        "已享受低保，因就业使收入增加，财产符合规定，可给予渐退期。",
        "Receives 低保 and income rose from employment with assets within limits: a gradual exit applies.",
    ),
    "dibao.gradual_exit.eligible.fail": (
        "不符合渐退条件（收入增加非因就业、财产不符合规定或收入超过渐退上限）。",
        "No gradual exit: the income rise is not from employment, assets exceed the limits, or income is above the exit ceiling.",
    ),
    "dibao.gradual_exit.eligible.insufficient": (
        "未说明收入增加是否因就业（income_rise_from_employment）或缺少财产信息。",
        "Whether the income rise comes from employment, or the assets, are not stated.",
    ),
    "dibao.gradual_exit.period.pass": (
        "渐退期自 {exit_started} 起已满 {months_elapsed} 个月，未超过 {max_months} 个月，至 {exit_ends} 止。",
        "Exit period from {exit_started}: {months_elapsed} whole months of at most {max_months}; it ends {exit_ends}.",
    ),
    "dibao.gradual_exit.period.fail": (
        "渐退期自 {exit_started} 起已满 {months_elapsed} 个月，达到 {max_months} 个月上限，于 {exit_ends} 结束。",
        "Exit period from {exit_started}: {months_elapsed} whole months, the limit of {max_months} is reached; it ended {exit_ends}.",
    ),
    "dibao.single_person.pass": (
        "重残或重病成员按“单人户”纳入低保：本人收入 {own_income} 元低于{standard_zh} {standard} 元，每月 {monthly_amount} 元。",
        "Included as a single-person household: own income {own_income} is below the {standard_en} {standard}; {monthly_amount} a month.",
    ),
    "dibao.single_person.fail_income": (
        "重残或重病成员本人收入 {own_income} 元，不低于{standard_zh} {standard} 元，不能按“单人户”纳入。",
        "Own income {own_income} is not below the {standard_en} {standard}: not included as a single-person household.",
    ),
    "dibao.single_person.fail_household": (
        "家庭不属于可按“单人户”纳入的家庭类型（{household_type_status}）。",
        "The household is not of a type that allows single-person inclusion ({household_type_status}).",
    ),
    "dibao.single_person.insufficient": (
        "家庭类型或本人收入尚无法确定（{household_type_status}），暂不能判断“单人户”。",
        "The household type or own income is undecided ({household_type_status}), so single-person inclusion cannot be decided.",
    ),
    # 低保边缘
    "marginal.precondition.pass": (
        "家庭不符合低保条件，审核低保边缘家庭。",
        "The household does not qualify for 低保, so 低保边缘 is assessed.",
    ),
    "marginal.precondition.insufficient": (
        "低保结果尚未确定，低保边缘家庭结果随之待定。",
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
        "家庭人均收入 {per_capita_income} 元，高于{standard_zh} {standard} 元且不高于其 {multiplier} 倍 {threshold} 元。",
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
        "家庭人均收入 {per_capita_income} 元，未高于{standard_zh} {standard} 元，本地低保边缘家庭要求高于低保标准。",
        "Per-capita income {per_capita_income} is not above the {standard_en} {standard}, which this city's 低保边缘 rule requires.",
    ),
    "marginal.income_test.insufficient": (
        "缺少收入或居住地信息，无法与低保边缘收入标准比较。",
        "Income or residence is missing, so income cannot be compared with the 低保边缘 threshold.",
    ),
    "marginal.asset_test.pass": _ASSET["pass"],
    "marginal.asset_test.fail": _ASSET["fail"],
    "marginal.asset_test.insufficient": _ASSET["insufficient"],
    # 刚性支出
    "rigid_expenditure.in_force.not_in_force": (
        "{as_of} 本地尚未实施刚性支出困难家庭认定。",
        "Rigid-expenditure hardship recognition is not in force here on {as_of}.",
    ),
    "rigid_expenditure.precondition.pass": (
        "家庭不属于低保、特困或低保边缘家庭。",
        "The household is not 低保, 特困 or 低保边缘.",
    ),
    "rigid_expenditure.precondition.insufficient": (
        "低保或低保边缘结果尚未确定（低保：{dibao_status}；低保边缘：{marginal_status}）。",
        "The 低保 or 低保边缘 result is undecided (低保: {dibao_status}; 低保边缘: {marginal_status}).",
    ),
    "rigid_expenditure.precondition.covered": (
        "家庭已属于低保、特困或低保边缘家庭，不再认定刚性支出困难家庭。",
        "The household is already 低保, 特困 or 低保边缘, so this program does not apply.",
    ),
    "rigid_expenditure.income_test.pass": (
        "家庭人均收入 {per_capita_income} 元，低于上年度当地居民人均可支配收入的月均 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is below the prior-year per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "rigid_expenditure.income_test.fail": (
        "家庭人均收入 {per_capita_income} 元，不低于上年度当地居民人均可支配收入的月均 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is not below the prior-year per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "rigid_expenditure.income_test.insufficient": (
        "缺少收入或居住地信息，无法与上年度人均可支配收入比较。",
        "Income or residence is missing, so income cannot be compared with the disposable-income line.",
    ),
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
        "家庭无收入，近 12 个月有刚性支出 {rigid_expenditure_12m} 元。",
        "The household has no income and 12-month rigid spending of {rigid_expenditure_12m}.",
    ),
    "rigid_expenditure.share_test.no_income_fail": (
        "家庭无收入，近 12 个月也无刚性支出。",
        "The household has neither income nor rigid spending.",
    ),
    "rigid_expenditure.share_test.insufficient": (
        "缺少近 12 个月刚性支出（rigid_expenditure_12m）或收入信息。",
        "The 12-month rigid spending (rigid_expenditure_12m) or the income is missing.",
    ),
    # 临时救助
    "temporary.emergency.none": (
        "申请未涉及急难或支出型困难事件，不审核临时救助。",
        "No emergency was reported, so temporary assistance is not assessed.",
    ),
    "temporary.emergency.no_members": (
        "没有计入家庭人口的成员（均属不计入情形），不审核临时救助。",
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
        "未说明同一事由是否已获救助（already_assisted）。",
        "Whether the same event was already assisted is not stated (already_assisted).",
    ),
    "temporary.urgent.cause.pass": (
        "困难原因（{cause}）属于急难型临时救助情形。",
        "The cause ({cause}) is an urgent-assistance case.",
    ),
    "temporary.urgent.cause.fail": (
        "困难原因（{cause}）不属于急难型临时救助情形。",
        "The cause ({cause}) is not an urgent-assistance case.",
    ),
    "temporary.urgent.cause.insufficient": (
        "未说明困难原因（emergency.cause）。",
        "The cause of the emergency is not stated (emergency.cause).",
    ),
    "temporary.urgent.amount.within_cap": (
        "评估救助需求 {assessed_need} 元，未超过上限 {urgent_cap} 元，救助 {amount} 元；可先行救助不超过 {advance_cap} 元。",
        "Assessed need {assessed_need} is within the cap {urgent_cap}: {amount}; an advance of up to {advance_cap} may be paid at once.",
    ),
    "temporary.urgent.amount.case_by_case": (
        "评估救助需求 {assessed_need} 元，超过上限 {urgent_cap} 元，按上限 {amount} 元救助，超出部分“一事一议”；可先行救助不超过 {advance_cap} 元。",
        "Assessed need {assessed_need} exceeds the cap {urgent_cap}: {amount}, the rest goes to case-by-case review (一事一议); an advance of up to {advance_cap} may be paid at once.",
    ),
    "temporary.urgent.amount.insufficient": (
        "缺少评估救助需求（emergency.assessed_need）或居住地信息，无法确定救助金额。",
        "The assessed need (emergency.assessed_need) or residence is missing, so the amount cannot be set.",
    ),
    "temporary.expenditure.income_test.pass": (
        "家庭人均收入 {per_capita_income} 元，低于上年度当地人均可支配收入的月均 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is below the prior-year per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "temporary.expenditure.income_test.fail": (
        "家庭人均收入 {per_capita_income} 元，不低于上年度当地人均可支配收入的月均 {disposable_income_monthly} 元。",
        "Per-capita income {per_capita_income} is not below the prior-year per-capita disposable income, {disposable_income_monthly} a month.",
    ),
    "temporary.expenditure.income_test.insufficient": (
        "缺少收入或居住地信息，无法与上年度人均可支配收入比较。",
        "Income or residence is missing, so income cannot be compared with the disposable-income line.",
    ),
    "temporary.expenditure.asset_test.pass": _ASSET["pass"],
    "temporary.expenditure.asset_test.fail": _ASSET["fail"],
    "temporary.expenditure.asset_test.insufficient": _ASSET["insufficient"],
    "temporary.expenditure.tier.pass": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，属于 {tier} 档，按 {multiple} 倍低保标准救助 {amount} 元（上限 {cap} 元）。",
        "12-month rigid spending {rigid_expenditure_12m} falls in tier {tier}: {multiple} × the standard, {amount} (cap {cap}).",
    ),
    "temporary.expenditure.tier.below_tiers": (
        "近 12 个月刚性支出 {rigid_expenditure_12m} 元，低于最低档 {lowest_tier_from} 元，不予支出型临时救助。",
        "12-month rigid spending {rigid_expenditure_12m} is below the lowest tier, {lowest_tier_from}.",
    ),
    "temporary.expenditure.tier.insufficient": (
        "缺少近 12 个月刚性支出（rigid_expenditure_12m）或居住地信息。",
        "The 12-month rigid spending (rigid_expenditure_12m) or residence is missing.",
    ),
}

# Phrases of a failed asset limit, joined into the asset test's failure message.
ASSET_PHRASES: Final[dict[str, tuple[str, str]]] = {
    "financial": (
        "金融资产 {financial} 元超过限额 {financial_limit} 元",
        "financial assets {financial} exceed the limit {financial_limit}",
    ),
    "vehicles": (
        "拥有不允许的车辆（{disallowed_vehicles}）",
        "owns vehicles not allowed ({disallowed_vehicles})",
    ),
    "homes": ("住房 {homes_counted} 套超过规定", "owns {homes_counted} homes, above the limit"),
    "commercial_property": ("拥有商业用房", "owns commercial property"),
    "business_capital": (
        "市场主体认缴出资 {business_capital} 元达到或超过限额 {business_capital_limit} 元",
        "business capital {business_capital} reaches the limit {business_capital_limit}",
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
def compile_template(template: str) -> Render:
    """``template.format_map`` as a function that does not re-parse the template on each call.

    ``str.format`` parses its template on every call, which cost more than the rest of a trace
    step. The template is split once into its literal text and ``{name}`` fields and compiled
    into an f-string reading the names from the mapping. An f-string formats each value as
    ``str.format`` does (``format(value, "")``) and a missing name still raises ``KeyError``, so
    the text is identical. Templates are the constants of this module, never request data.
    """
    parts = _template_parts(template, "values")
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg("values")], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    tree = ast.Expression(ast.Lambda(arguments, ast.JoinedStr(parts)))
    code = compile(ast.fix_missing_locations(tree), f"<template {template[:40]!r}>", "eval")
    render: Render = eval(code, {})  # noqa: S307 - compiled from the constant template above
    return render


# (values, fmt, program, member, outcome) → the trace entry of one step
EntryBuilder = Callable[[Any, Mapping[str, Any], str, str | None, str], dict[str, Any]]


def _template_parts(template: str, mapping: str) -> list[ast.expr]:
    parts: list[ast.expr] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(ast.Constant(literal))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(f"template field {name!r} must be a plain name: {template!r}")
        field = ast.Subscript(ast.Name(mapping, ast.Load()), ast.Constant(name), ast.Load())
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
    scope = {"COPY": template.copy, "PROVISIONAL": provisional}
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
        store("message_zh", ast.JoinedStr(_template_parts(zh, "fmt"))),
        store("message_en", ast.JoinedStr(_template_parts(en, "fmt"))),
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
