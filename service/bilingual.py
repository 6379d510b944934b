"""Text in the two languages every message of the service is given in: Chinese first, English.

A message a person reads (a command-line error, a refusal, a start-up notice) is a ``Text``;
an error meant for such a person is a ``BilingualError``. The command line prints them in the
language asked for (``--lang zh|en|both``; both by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en", "both"]
LANGS: tuple[Lang, ...] = ("zh", "en", "both")


@dataclass(frozen=True)
class Text:
    """One message in Chinese and in English."""

    zh: str
    en: str

    def render(self, lang: Lang = "both") -> str:
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        return f"{self.zh}\n{self.en}"

    def __str__(self) -> str:
        return self.render()


class BilingualError(Exception):
    """An error whose message a person reads, in both languages (``str()`` gives both)."""

    def __init__(self, zh: str, en: str):
        self.text = Text(zh, en)
        super().__init__(str(self.text))
