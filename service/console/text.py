"""The console's words, Chinese first: key → (Chinese, English).

The names of the contract's codes (programs, statuses, relations …) come from the engine's one
table, :data:`service.engine.messages.NAMES`; this table holds the console's own words only.
"""

from __future__ import annotations

from typing import Final, Literal

from service.engine.messages import NAMES

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

WORDS: Final[dict[str, tuple[str, str]]] = {
    # layout
    "app.title": ("社会救助认定控制台", "Social assistance console"),
    "app.skip": ("跳到正文", "Skip to content"),
    "nav.label": ("主导航", "Main navigation"),
    "nav.intake": ("受理认定", "Intake"),
    "nav.decisions": ("认定记录", "Decisions"),
    "nav.verify": ("日志校验", "Log verification"),
    "nav.rules": ("政策规则", "Rules"),
    "nav.signed_in_as": ("当前用户", "Signed in as"),
    "nav.sign_out": ("退出", "Sign out"),
    "nav.lang_switch": ("English", "中文"),
    "nav.lang_switch_label": ("切换到英文", "Switch to Chinese"),
    "role.intake": ("受理窗口", "intake clerk"),
    "role.integrator": ("系统对接", "integrator"),
    "role.auditor": ("审计", "auditor"),
    "role.admin": ("管理员", "administrator"),
    # sign-in
    "login.title": ("登录", "Sign in"),
    "login.key": ("API 密钥", "API key"),
    "login.key_hint": (
        "密钥只用于本次登录换取会话，不会保存在浏览器中。",
        "The key is exchanged for a session at sign-in; it is never kept in the browser.",
    ),
    "login.submit": ("登录", "Sign in"),
    "login.refused": ("密钥无效或已吊销。", "The key is unknown or revoked."),
    "login.expired": ("会话已结束，请重新登录。", "Your session has ended; please sign in again."),
    "login.signed_out": ("已退出。", "You are signed out."),
    # errors
    "error.title": ("无法完成", "Not possible"),
    "error.403": ("无权访问此页面", "You may not open this page"),
    "error.403.body": (
        "您的角色（{role}）不能使用此功能。允许的角色：{allowed}。",
        "Your role ({role}) may not use this. Roles allowed: {allowed}.",
    ),
    "error.csrf": ("表单已失效", "The form has expired"),
    "error.csrf.body": (
        "此表单缺少有效的安全令牌（CSRF），已被拒绝。请返回，刷新页面后重新提交。",
        "This form came without a valid security token (CSRF) and was refused. Go back, reload"
        " the page and submit it again.",
    ),
    "error.404": ("未找到", "Not found"),
    "error.404.body": ("没有这个页面或记录。", "There is no such page or record."),
    "error.503": ("数据库暂不可用", "The database is unavailable"),
    "error.503.body": ("请稍后重试。", "Please try again shortly."),
    "error.problems": ("请求未被受理：", "The request was refused:"),
    "error.back": ("返回首页", "Back to the start page"),
    # common
    "common.show": ("查询", "Show"),
    "common.date": ("日期", "Date"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.unknown": ("未填写", "not given"),
    "common.none": ("无", "none"),
    # intake
    "intake.title": ("受理认定", "Intake"),
    "intake.form": ("家庭经济状况核对信息", "Household record"),
    "intake.basic": ("基本信息", "The application"),
    "intake.members": ("家庭成员", "Members"),
    "intake.income": ("收入（每月）", "Income (monthly)"),
    "intake.deductions": ("可扣减的支出（每月）", "Deductions (monthly)"),
    "intake.assets": ("家庭财产", "Assets"),
    "intake.vehicles": ("车辆", "Vehicles"),
    "intake.houses": ("住房", "Homes"),
    "intake.rigid": ("近 12 个月刚性支出", "Rigid spending of the last 12 months"),
    "intake.current": ("现享受的救助", "Current benefit"),
    "intake.emergency": ("临时救助（急难或支出型困难）", "Temporary assistance (emergency)"),
    "intake.programs": ("审核的救助项目", "Programs to decide"),
    "intake.add.household.members": ("添加成员", "Add a member"),
    "intake.add.household.income": ("添加收入", "Add income"),
    "intake.add.household.deductions": ("添加扣减", "Add a deduction"),
    "intake.add.household.assets.vehicles": ("添加车辆", "Add a vehicle"),
    "intake.add.household.assets.houses": ("添加住房", "Add a home"),
    "intake.remove": ("删除", "Remove"),
    "intake.remove_label": ("删除{item}", "Remove {item}"),
    "intake.evaluate": ("试算", "Evaluate"),
    "intake.evaluate_hint": ("试算不记录。", "Evaluating records nothing."),
    "intake.record": ("提交认定", "Record the decision"),
    "intake.save": ("保存为 JSON 文件", "Save as JSON"),
    "intake.load": ("载入", "Load"),
    "intake.load_title": ("载入已保存的家庭", "Load a saved household"),
    "intake.load_file": ("选择合同 JSON 文件", "Choose a contract JSON file"),
    "intake.load_text": ("或粘贴合同 JSON", "or paste contract JSON"),
    "intake.new": ("新的受理", "New intake"),
    "intake.loaded": (
        "已载入。请核对后试算或提交。",
        "Loaded. Check it, then evaluate or record.",
    ),
    "intake.unknown_fields": (
        "文件中以下字段表单中没有，未载入：",
        "These fields of the file have no place in the form and were not loaded:",
    ),
    "intake.choose": ("请选择", "Choose"),
    "intake.unknown": ("未填写（未知）", "not given (unknown)"),
    "intake.none_given": ("无", "none"),
    "intake.yes": ("是", "yes"),
    "intake.no": ("否", "no"),
    "intake.required": ("必填", "required"),
    "intake.id_hint": (
        "号码录入后只显示部分（保护个人信息）；要更改请重新输入。",
        "Once entered the number shows masked (personal data); type it again to change it.",
    ),
    "intake.id_entered": ("已录入：{masked}（请重新输入）", "Entered: {masked} (type it again)"),
    "intake.errors": ("请更正以下 {n} 处问题：", "Please correct {n} problem(s):"),
    "intake.whole_request": ("整个请求", "the request as a whole"),
    "result.evaluated": ("试算结果（未记录）", "Result (not recorded)"),
    "result.recorded": ("认定结果（已记录）", "Decision (recorded)"),
    "result.decision_id": ("决定编号", "Decision id"),
    "result.notice": ("打印告知书", "Print the decision notice"),
    "result.header": (
        "{place}，认定日期 {as_of}，适用 {version} 起施行的规则（校验值 {sha}）",
        "{place}, decision date {as_of}, rules in force from {version} (checksum {sha})",
    ),
    "result.reasons": ("认定理由", "Reasons"),
    "result.missing": (
        "缺少的信息（补全后可重新认定）",
        "Missing facts (the undecided results can be decided once they are given)",
    ),
    "result.missing_for": ("影响：{programs}", "decides: {programs}"),
    "result.provisional": (
        "使用了暂定参数（尚无公开来源，待核实）：",
        "Provisional parameters used (no public source yet):",
    ),
    "result.provisional_step": ("暂定", "provisional"),
    "result.citation": ("依据", "Legal basis"),
    # the decision notice
    "notice.title": ("社会救助审核确认告知书", "Notice of the social assistance decision"),
    "notice.print": ("打印", "Print"),
    "notice.decision_id": ("决定编号", "Decision id"),
    "notice.recorded_at": ("记录时间", "Recorded"),
    "notice.as_of": ("认定日期", "Decision date"),
    "notice.jurisdiction": ("辖区", "Jurisdiction"),
    "notice.rules": ("适用规则版本", "Rule version"),
    "notice.sha256": ("规则包校验值", "Rule bundle checksum"),
    "notice.applicant": ("申请人", "Applicant"),
    "notice.program": ("救助项目", "Program"),
    "notice.result": ("认定结果", "Result"),
    "notice.amount": ("金额", "Amount"),
    "notice.reasons": ("理由及依据", "Reasons and legal basis"),
    "notice.rights": (
        "如对本认定结果有异议，可自收到本告知书之日起依法申请行政复议或者提起行政诉讼。",
        "If you disagree with this decision you may apply for administrative reconsideration"
        " or bring an administrative suit, as the law provides, from the day you receive this"
        " notice.",
    ),
    "notice.office": ("经办机构（盖章）", "Office (seal)"),
    "notice.date_signed": ("日期", "Date"),
    # rules
    "rules.title": ("政策规则", "Rules"),
    "rules.jurisdictions": ("辖区", "Jurisdictions"),
    "rules.id": ("代码", "Code"),
    "rules.name": ("名称", "Name"),
    "rules.division_code": ("行政区划代码", "Division code"),
    "rules.parent": ("上级", "Parent"),
    "rules.versions": ("规则版本（施行日期）", "Versions (in force from)"),
    "rules.bundle_changes": ("规则包变化日期", "Dates the bundle changes"),
    "rules.show": ("查看规则", "Show rules"),
    "rules.bundle_title": ("{place}：{date} 施行的规则", "{place}: rules in force on {date}"),
    "rules.as_of": ("适用日期", "Rules in force on"),
    "rules.version": ("规则版本", "Version"),
    "rules.sha256": ("规则包校验值（SHA-256）", "Bundle checksum (SHA-256)"),
    "rules.components": ("组成", "Made of"),
    "rules.parameter": ("参数", "Parameter"),
    "rules.value": ("取值", "Value"),
    "rules.source": ("来源", "Source"),
    "rules.confidence": ("可信度", "Confidence"),
    "rules.provisional": ("暂定", "Provisional"),
    "rules.provisional_mark": ("暂定（待核实）", "provisional (to be verified)"),
    "rules.from_file": ("规则文件", "Rule file"),
    "rules.diff_title": ("两个日期之间的变化", "Changes between two dates"),
    "rules.diff_from": ("起始日期", "From"),
    "rules.diff_to": ("截止日期", "To"),
    "rules.diff_show": ("比较", "Compare"),
    "rules.diff_none": ("两个日期适用的规则相同。", "The same rules are in force on both dates."),
    "rules.old": ("原值", "Before"),
    "rules.new": ("新值", "After"),
}


def word(key: str, lang: Lang) -> str:
    zh, en = WORDS[key]
    return zh if lang == "zh" else en


def code_name(kind: str, code: str, lang: Lang) -> str:
    """The name of a contract code (``program``/``dibao`` → 最低生活保障), the code if unnamed."""
    entry = NAMES.get(kind, {}).get(code)
    if entry is None:
        return code
    return entry[0] if lang == "zh" else entry[1]
