"""The explanation reads well to an applicant: no code of the contract or of a rule set in Chinese
text, each line once, the jurisdiction by its name, and ``evaluate --explain`` in the language
asked for, a refused request included.

What Chinese text may still hold in ASCII, and why:
- a member's id (``成员 m1``): the request's own name for the person, which the clerk typed;
- in the explanation's list of missing facts, the field path after the field's Chinese name
  (``家庭财产（household.assets）``): it tells the clerk where the fact goes in the record;
- the rule bundle's checksum (``规则包校验值 fc203bf593a2``): hexadecimal, for an auditor.
Everything else written in Latin letters (a status, a care tier, a vehicle kind, a cause, a
parameter path, a jurisdiction id) is a code and must be shown by its name.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import random
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Literal, get_args, get_origin

import pytest

from service import cli
from service.bilingual import Text
from service.contract import request as request_model
from service.contract import response as response_model
from service.engine import Decider, RequestRejected, RuleBase
from service.engine.messages import NAMES, TEMPLATES, field_name
from service.explain import explain
from service.synthetic import population
from tests.helpers import EXAMPLES, ROOT, load_example

CODE_WORD = re.compile(r"[A-Za-z_]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
FIELD_PATH = re.compile(r"（((household|emergency)(\.[a-z_0-9]+|\[\d+\])+|residence)）")
CHECKSUM = re.compile(r"规则包校验值 [0-9a-f]{12}")


def _without_member_ids(text: str, request: dict[str, Any]) -> str:
    for member in request["household"]["members"]:
        text = re.sub(rf"(?<![\w.\[]){re.escape(member['id'])}(?![\w\]])", "", text)
    return text


def _code_words_in_chinese(text: str, request: dict[str, Any]) -> list[str]:
    text = CHECKSUM.sub("", FIELD_PATH.sub("", text))
    return CODE_WORD.findall(_without_member_ids(text, request))


def _place(rule_base: RuleBase, response: dict[str, Any]) -> Text:
    meta = rule_base.jurisdictions[response["ruleset"]["id"]]
    return Text(meta.name_zh, meta.name_en)


# --- the households: every jurisdiction and bundle, every code of the contract -----------------


def _bundle_dates(rule_base: RuleBase) -> Iterator[tuple[str, date]]:
    for jurisdiction in rule_base.known():
        for day in rule_base.switch_dates(jurisdiction):
            yield jurisdiction, day


def _elderly(jurisdiction: str, day: date) -> dict[str, Any]:
    """Alone, 80, no income nor supporter: 特困 with a care amount."""
    return {
        "jurisdiction": jurisdiction,
        "as_of": day.isoformat(),
        "residence": "urban",
        "household": {
            "members": [
                {
                    "id": "p1",
                    "relation": "applicant",
                    "birth_date": (day - timedelta(days=80 * 366)).isoformat(),
                    "has_capable_supporter": False,
                    "self_care_failed_items": 5,
                }
            ],
            "income": [],
            "assets": {
                "financial": "100.00",
                "vehicles": [],
                "houses": [{"area_m2": "40", "dilapidated": False}],
                "commercial_property": False,
                "business_capital": "0.00",
            },
        },
    }


def _family(jurisdiction: str, day: date) -> dict[str, Any]:
    """Two adults and a 19-year-old, poor, with rigid spending, an emergency and a past 低保."""
    return {
        "jurisdiction": jurisdiction,
        "as_of": day.isoformat(),
        "residence": "rural",
        "household": {
            "members": [
                {
                    "id": "a",
                    "relation": "applicant",
                    "birth_date": (day - timedelta(days=45 * 366)).isoformat(),
                    "employed": True,
                    "has_capable_supporter": True,
                },
                {
                    "id": "b",
                    "relation": "spouse",
                    "birth_date": (day - timedelta(days=43 * 366)).isoformat(),
                    "has_capable_supporter": True,
                },
                {
                    "id": "c",
                    "relation": "child",
                    "birth_date": (day - timedelta(days=19 * 366)).isoformat(),
                    "schooling": "high_school",
                    "has_capable_supporter": True,
                    "self_care_failed_items": 0,
                },
            ],
            "income": [{"member": "a", "type": "wage", "monthly": "600.00"}],
            "assets": {
                "financial": "1000.00",
                "vehicles": [],
                "houses": [{"area_m2": "60", "dilapidated": False}],
                "commercial_property": False,
                "business_capital": "0.00",
            },
            "rigid_expenditure_12m": {
                "medical": "40000.00",
                "education": "0",
                "rehabilitation": "0",
                "other": "0",
            },
            "current_benefit": {
                "program": "dibao",
                "monthly_amount": "300.00",
                "since": (day - timedelta(days=700)).isoformat(),
                "exit_started": (day - timedelta(days=40)).isoformat(),
                "income_rise_from_employment": True,
            },
        },
        "emergency": {
            "kind": "urgent",
            "cause": "fire",
            "occurred_on": (day - timedelta(days=3)).isoformat(),
            "assessed_need": "20000.00",
            "already_assisted": False,
        },
    }


def _literal_values(annotation: Any) -> tuple[str, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _variants(base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The household with each code of the contract in turn, and with each fact left out."""
    yield base
    members = base["household"]["members"]

    def changed(edit: Any) -> dict[str, Any]:
        copy_ = copy.deepcopy(base)
        edit(copy_)
        return copy_

    for kind in _literal_values(request_model.VehicleKind):
        yield changed(lambda r, k=kind: r["household"]["assets"].update(vehicles=[{"kind": k}]))
    if "emergency" in base:
        for kind in _literal_values(request_model.EmergencyKind):
            for cause in _literal_values(request_model.EmergencyCause):
                yield changed(lambda r, k=kind, c=cause: r["emergency"].update(kind=k, cause=c))
    for schooling in _literal_values(request_model.Schooling):
        yield changed(lambda r, s=schooling: r["household"]["members"][-1].update(schooling=s))
    for category in _literal_values(request_model.DisabilityCategory):
        for grade in (1, 2, 3, 4):
            disability = {"category": category, "grade": grade}
            yield changed(
                lambda r, d=disability: r["household"]["members"][-1].update(
                    disability=d, serious_illness=True
                )
            )
    for items in range(7):
        yield changed(
            lambda r, n=items: r["household"]["members"][0].update(self_care_failed_items=n)
        )
    for relation in _literal_values(request_model.Relation):
        yield changed(lambda r, v=relation: r["household"]["members"][-1].update(relation=v))
    for exclusion in _literal_values(request_model.Exclusion):
        yield changed(lambda r, v=exclusion: r["household"]["members"][-1].update(excluded=v))
    for income in _literal_values(request_model.IncomeType):
        item = {"member": members[0]["id"], "type": income, "monthly": "150.00"}
        yield changed(lambda r, i=item: r["household"]["income"].append(i))
    for deduction in _literal_values(request_model.DeductionType):
        item = {"member": members[0]["id"], "type": deduction, "monthly": "50.00"}
        yield changed(lambda r, i=item: r["household"].__setitem__("deductions", [i]))
    # each fact left out in turn: its field is named in the messages and the missing list
    left_out = [
        ("residence",),
        ("household", "income"),
        ("household", "assets"),
        ("household", "assets", "financial"),
        ("household", "assets", "vehicles"),
        ("household", "assets", "houses"),
        ("household", "assets", "commercial_property"),
        ("household", "assets", "business_capital"),
        ("household", "assets", "houses", 0, "dilapidated"),
        ("household", "assets", "houses", 0, "area_m2"),
        ("household", "members", 0, "has_capable_supporter"),
        ("household", "members", 0, "self_care_failed_items"),
        ("household", "rigid_expenditure_12m"),
        ("household", "rigid_expenditure_12m", "medical"),
        ("household", "current_benefit", "income_rise_from_employment"),
        ("household", "current_benefit", "monthly_amount"),
        ("emergency", "cause"),
        ("emergency", "assessed_need"),
        ("emergency", "already_assisted"),
    ]
    for path in left_out:
        request = copy.deepcopy(base)
        holder: Any = request
        try:
            for key in path[:-1]:
                holder = holder[key]
            del holder[path[-1]]
        except (KeyError, IndexError):
            continue
        yield request


def _corpus(rule_base: RuleBase) -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.glob("*.json")):
        yield load_example(path.name)
    rng = random.Random(8)
    for jurisdiction, day in _bundle_dates(rule_base):
        yield from population(30, rng.randrange(2**32), jurisdiction, day)
    # every code and every left-out fact, on the first and the last bundle of each jurisdiction
    for jurisdiction in rule_base.known():
        dates = rule_base.switch_dates(jurisdiction)
        for day in (dates[0], dates[-1]):
            for base in (_elderly(jurisdiction, day), _family(jurisdiction, day)):
                yield from _variants(base)
            # the 支出型 (expenditure) path in each band
            for medical in ("1000.00", "6000.00", "20000.00", "60000.00"):
                request = _family(jurisdiction, day)
                request["emergency"].update(kind="expenditure", cause="medical")
                request["household"]["rigid_expenditure_12m"]["medical"] = medical
                yield request


@pytest.fixture(scope="module")
def decisions(engine: Decider, rule_base: RuleBase) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for request in _corpus(rule_base):
        try:
            out.append((request, engine.evaluate(request)))
        except RequestRejected:
            continue  # a left-out required field: refused, nothing to explain
    assert len(out) > 4000
    return out


def test_no_code_word_in_any_chinese_message(
    decisions: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    found: dict[str, str] = {}
    for request, response in decisions:
        for step in response["trace"]:
            for word in _code_words_in_chinese(step["message_zh"], request):
                found.setdefault(word, f"{step['step']}: {step['message_zh']}")
    assert not found, found


def test_no_code_word_in_the_chinese_explanation(
    decisions: list[tuple[dict[str, Any], dict[str, Any]]], rule_base: RuleBase
) -> None:
    found: dict[str, str] = {}
    for request, response in decisions:
        text = explain(response, _place(rule_base, response), "zh")
        for line in text.splitlines():
            for word in _code_words_in_chinese(line, request):
                found.setdefault(word, line)
    assert not found, found


def test_every_missing_fact_and_every_message_field_has_a_name(
    decisions: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    unnamed = {
        item["field"]
        for _, response in decisions
        for item in response["missing"]
        if field_name(item["field"]) is None
    }
    assert not unnamed
    steps = {(s["step"], s["outcome"]) for _, r in decisions for s in r["trace"]}
    assert len(steps) > 60  # the corpus reaches nearly every template


def test_every_code_of_the_contract_has_a_chinese_and_an_english_name() -> None:
    vocabularies = {
        "program": request_model.ProgramId,
        "residence": request_model.Residence,
        "relation": request_model.Relation,
        "disability_category": request_model.DisabilityCategory,
        "schooling": request_model.Schooling,
        "exclusion": request_model.Exclusion,
        "income_type": request_model.IncomeType,
        "deduction_type": request_model.DeductionType,
        "vehicle_kind": request_model.VehicleKind,
        "emergency_kind": request_model.EmergencyKind,
        "emergency_cause": request_model.EmergencyCause,
        "status": response_model.Status,
        "outcome": response_model.Outcome,
        "basis": get_args(response_model.DibaoResult.model_fields["basis"].annotation)[0],
        "care_tier": get_args(response_model.TekunMember.model_fields["care_tier"].annotation)[0],
    }
    for kind, vocabulary in vocabularies.items():
        codes = _literal_values(vocabulary)
        assert codes, kind
        for code in codes:
            zh, en = NAMES[kind][code]
            assert CJK.search(zh) and not CODE_WORD.search(zh), (kind, code, zh)
            assert en.strip(), (kind, code)


def test_every_parameter_and_supplement_of_the_shipped_rule_sets_has_a_name(
    rule_base: RuleBase,
) -> None:
    for jurisdiction, day in _bundle_dates(rule_base):
        bundle = rule_base.resolve(jurisdiction, day)
        for path in bundle.origins:
            assert path in NAMES["parameter"], (jurisdiction, day, path)
        plan = bundle.rules.supplements
        for item in [*plan.items, *plan.additional] if plan else []:
            assert item.id in NAMES["supplement"], (jurisdiction, day, item.id)


# --- the wording the applicant hears -------------------------------------------------------


def _messages(engine: Decider, name: str, step: str) -> list[tuple[str, str]]:
    response = engine.evaluate(load_example(name))
    return [(s["message_zh"], s["message_en"]) for s in response["trace"] if s["step"] == step]


def test_age_care_vehicle_and_cause_are_said_in_words(engine: Decider) -> None:
    (capacity,) = _messages(engine, "changsha-tekun-eligible.json", "tekun.no_work_capacity")
    assert capacity[0] == "现年 75 周岁，已满 60 周岁，认定为无劳动能力。"
    (amount,) = _messages(engine, "changsha-tekun-eligible.json", "tekun.amount")
    assert "全失能" in amount[0] and "full" not in amount[0]
    assert "fully dependent" in amount[1]
    urgent = "changsha-temporary-urgent-case-by-case.json"
    (cause,) = _messages(engine, urgent, "temporary.urgent.cause")
    assert cause == (
        "困难原因为火灾，属于急难型临时救助的情形。",
        "The cause (fire) is one for urgent assistance.",
    )
    (assets,) = _messages(engine, urgent, "dibao.asset_test")
    assert "拥有规定不允许的车辆（小汽车）" in assets[0] and "car" not in assets[0]


def test_lists_in_messages_read_as_words(engine: Decider) -> None:
    response = engine.evaluate(load_example("chongqing-rigid-expenditure-eligible.json"))
    (single,) = [s for s in response["trace"] if s["step"] == "dibao.single_person"]
    assert single["values"]["household_type_status"] == ["marginal:ineligible"]
    assert "（低保边缘家庭：不符合）" in single["message_zh"]
    assert "(marginal low-income household: not eligible)" in single["message_en"]
    (share,) = [s for s in response["trace"] if s["step"] == "rigid_expenditure.share_test"]
    assert "90.28%" in share["message_zh"] and "70%" in share["message_zh"]


def test_every_template_has_both_languages_and_no_field_name_in_chinese() -> None:
    for key, (zh, en) in TEMPLATES.items():
        assert CJK.search(zh) and en.strip(), key
        literal = re.sub(r"\{\w+\}", "", zh)
        assert not CODE_WORD.search(literal), (key, zh)


# --- evaluate --explain ------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


URGENT = str(EXAMPLES / "changsha-temporary-urgent-case-by-case.json")
ZHUMADIAN = str(EXAMPLES / "zhumadian-single-person-eligible.json")


def test_explain_prints_the_temporary_cap_line_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "evaluate", "--explain", URGENT)
    assert code == 0
    assert out.count("超过救助上限 100000.00 元") == 1
    assert out.count("exceeds the cap 100000.00") == 1
    for heading in ("■ 临时救助", "■ Temporary assistance"):
        section = out[out.index(heading) :].splitlines()[1:]
        reasons = list(itertools.takewhile(lambda line: line.startswith("    - "), section))
        assert len(reasons) == len(set(reasons)) == 3, reasons  # repeat, cause, amount


def test_explain_names_the_jurisdiction(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "evaluate", "--explain", ZHUMADIAN)
    assert code == 0
    assert out.startswith("辖区 驻马店市，认定日期 2022年10月10日")
    assert "\nJurisdiction Zhumadian, decision date 2022-10-10" in out
    assert "zhumadian" not in out


def test_explain_in_one_language_or_both(capsys: pytest.CaptureFixture[str]) -> None:
    _, both = run(capsys, "evaluate", "--explain", ZHUMADIAN)
    code_zh, zh = run(capsys, "evaluate", "--explain", "--lang", "zh", ZHUMADIAN)
    code_en, en = run(capsys, "evaluate", "--explain", "--lang", "en", ZHUMADIAN)
    assert code_zh == code_en == 0
    assert both == zh + "\n" + en  # Chinese first, a blank line, then English
    assert zh.startswith("辖区 ") and "Jurisdiction" not in zh
    assert en.startswith("Jurisdiction ") and "辖区" not in en
    assert "最低生活保障：符合（单人户），每月 630.00 元" in zh
    assert (
        "Minimum living guarantee (低保): eligible (single-person inclusion), 630.00 a month" in en
    )
    request = load_example("zhumadian-single-person-eligible.json")
    assert all(not _code_words_in_chinese(line, request) for line in zh.splitlines())


BAD = {
    "jurisdiction": "wuhan",
    "as_of": "2022-08-01",
    "residence": "urban",
    "household": {
        "members": [{"id": "a", "relation": "applicant", "birth_date": "1980-01-01"}],
        "income": [{"member": "a", "type": "wage", "monthly": "-5"}],
    },
}


def _problems(engine: Decider, request: Any) -> list[dict[str, str]]:
    with pytest.raises(RequestRejected) as refused:
        engine.evaluate(request)
    return refused.value.problems


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_explain_prints_a_refused_request_as_sentences(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Decider,
    lang: str,
) -> None:
    bad = copy.deepcopy(BAD)
    bad["household"]["members"][0]["relation"] = "cousin"
    problems = _problems(engine, bad)
    assert len(problems) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(bad)))
    code, out = run(capsys, "evaluate", "--explain", "--lang", lang, "-")
    assert code == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    zh = ["请求未被受理，共 2 处问题："] + [
        f"    - {p['path']}：{p['reason_zh']}" for p in problems
    ]
    en = ["The request was refused (2 problems):"] + [
        f"    - {p['path']}: {p['reason_en']}" for p in problems
    ]
    expected = {"zh": zh, "en": en, "both": [*zh, "", *en]}[lang]
    assert out.splitlines() == expected


def test_explain_names_the_whole_request_when_the_problem_has_no_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Decider
) -> None:
    (problem,) = _problems(engine, "[1]")
    monkeypatch.setattr(sys, "stdin", io.StringIO("[1]"))
    code, out = run(capsys, "evaluate", "--explain", "-")
    assert code == 1
    assert f"    - （整个请求）：{problem['reason_zh']}" in out.splitlines()
    assert f"    - (the request as a whole): {problem['reason_en']}" in out.splitlines()


def test_without_explain_a_refusal_stays_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Decider
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BAD)))
    code, out = run(capsys, "evaluate", "-")
    assert code == 1
    assert json.loads(out) == {"errors": _problems(engine, BAD)}


def test_lang_takes_only_zh_en_or_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "--explain", "--lang", "fr", ZHUMADIAN])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_readme_shows_what_explain_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = (
        "$ eligibility evaluate --explain tests/examples/zhumadian-single-person-eligible.json\n"
    )
    shown = readme[readme.index(command) + len(command) :].split("\n...\n```")[0]
    _, out = run(capsys, "evaluate", "--explain", ZHUMADIAN)
    assert out.startswith(shown + "\n")
