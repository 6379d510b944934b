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
