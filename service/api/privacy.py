"""Personal data: names and ID numbers never reach the database or the logs in clear.

Before a request is stored, each member's ``name`` and ``id_number`` are taken out of it and
replaced, under a separate ``personal`` key of the stored document, by

- a keyed pseudonym: HMAC-SHA256 with the server secret (hex), stable for the same person and
  secret, so records of one person can be linked without revealing who it is;
- a masked form for a clerk: ``4201**********123X``, ``王*``.

No rule reads a name or an ID number (the birth date, which they are checked against, stays in
the request), so replaying the stored request gives the same result.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path
from typing import Any

from service.contract.request import EvaluationRequest

STORED_FORMAT = 1


def load_or_create_secret(secret: str | None, path: Path) -> bytes:
    """The HMAC key: ``secret`` if given, else the key file, created once (mode 0600).

    Several worker processes may start at once: the file is written under a temporary name and
    hard-linked into place, so every process reads the same complete key.
    """
    if secret:
        return secret.encode("utf-8")
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # If another process won the race, its key is the one: use it.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"{path}: the secret is too short (at least 32 characters)")
    return text.encode("ascii")


def mask_id_number(number: str) -> str:
    """``42010619790308123X`` → ``4201**********123X``."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """``王小明`` → ``王**``: the first character only."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


class Pseudonymizer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonymisation secret must be at least 16 bytes")
        self._key = key

    def pseudonym(self, kind: str, value: str) -> str:
        normalised = unicodedata.normalize("NFC", value.strip())
        message = f"{kind}\x00{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def stored_document(self, request: EvaluationRequest) -> dict[str, Any]:
        """The request as it is stored: personal fields replaced by pseudonyms and masks."""
        data = request.model_dump(mode="json")
        personal: dict[str, dict[str, str]] = {}
        for member in data["household"]["members"]:
            name = member.pop("name", None)
            number = member.pop("id_number", None)
            entry: dict[str, str] = {}
            if name is not None:
                entry["name_pseudonym"] = self.pseudonym("name", name)
                entry["name_masked"] = mask_name(name)
            if number is not None:
                entry["id_number_pseudonym"] = self.pseudonym("id_number", number)
                entry["id_number_masked"] = mask_id_number(number)
            if entry:
                personal[member["id"]] = entry
        return {"format": STORED_FORMAT, "request": data, "personal": personal}
