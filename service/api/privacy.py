"""Personal data: names and ID numbers never reach the database or the logs in clear.

Before a request is stored, each member's ``name`` and ``id_number`` are taken out of it and
replaced, under a separate ``personal`` key of the stored document, by

- a keyed pseudonym: HMAC-SHA256 with the pseudonymisation key (hex), stable for the same person
  and key, so records of one person can be linked without revealing who it is;
- a masked form for a clerk: ``王*`` for a name; for an ID number, stars only
  (``******************``, its length).

Why no digit of the ID number is shown: the stored request keeps the birth date (rules read
ages) and the jurisdiction, so of the 18 characters only the region's last digits and the
3-digit sequence are unknown; the check digit follows from the other 17. The earlier mask
``4201**********123X`` gave away the sequence and the check digit, leaving about 9 numbers,
and the HMAC (its key beside the database) picked the right one. Now a reader of the database
has at least 1,000 sequence numbers times every region not excluded (100,000 for a record of a
city, whose 6-digit division code leaves the district's 2 digits open), and without the key,
which lives apart from the data (:func:`pseudonym_key`), no way to tell which is right.

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

from service.api.logs import get_logger
from service.api.settings import Settings, default_keys_dir
from service.bilingual import BilingualError, Text
from service.contract.request import EvaluationRequest
from service.store import make_private_dir

STORED_FORMAT = 1

log = get_logger("privacy")


class KeyInDataFolder(BilingualError):
    """Production mode and a pseudonymisation key inside the data folder: ``serve`` refuses."""


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _refuse(settings: Settings, found: Path) -> KeyInDataFolder:
    target = settings.pseudonym_key_path
    if _inside(target, settings.data_dir):
        target = default_keys_dir() / target.name
    return KeyInDataFolder(
        f"生产模式（ELIGIBILITY_PRODUCTION）：假名化密钥文件 {found} 位于数据目录"
        f" {settings.data_dir} 中，与它保护的数据放在一起；本服务未启动。请把它移出数据目录"
        f"（例如 mkdir -m 700 -p {target.parent} && mv {found} {target}，文件权限 0600；"
        f"或用 ELIGIBILITY_PSEUDONYM_KEY_FILE 指定数据目录以外的位置），已有记录的假名仍可与新假名"
        f"关联；或删除它，改用新密钥（新旧假名将无法关联）。",
        f"production mode (ELIGIBILITY_PRODUCTION): the pseudonymisation key file {found} is"
        f" inside the data folder {settings.data_dir}, beside the data it protects; not started."
        f" Move it out of the data folder (for example mkdir -m 700 -p {target.parent} && mv"
        f" {found} {target}, the file 0600; or name a place outside the data folder with"
        f" ELIGIBILITY_PSEUDONYM_KEY_FILE), so that the pseudonyms of the records already made"
        f" still link with new ones; or delete it and start with a new key (new and old"
        f" pseudonyms will then not link).",
    )


def _warn(text: Text, path: Path) -> None:
    log.warning(f"{text.zh} / {text.en}", extra={"key_file": str(path)})


def pseudonym_key(settings: Settings) -> bytes:
    """The HMAC key of the pseudonyms: ``ELIGIBILITY_SECRET`` if set, else the key file
    (``ELIGIBILITY_PSEUDONYM_KEY_FILE``, default ``<keys dir>/pseudonym.key``), created once.

    An install from before the keys folder has its key in the data folder (``secret.key``).
    It keeps being used, with a warning, as long as no key file exists at the new place: moving
    it silently could lose it (a container's data volume survives, its home folder may not),
    and a new key would stop linking new records with old ones. In production mode any key file
    in the data folder, in use or left behind, is refused (:class:`KeyInDataFolder`).
    """
    path = settings.pseudonym_key_path
    legacy = settings.secret_file
    if settings.production:
        if legacy.exists():
            raise _refuse(settings, legacy)
        if not settings.secret and _inside(path, settings.data_dir):
            raise _refuse(settings, path)
    if settings.secret:
        return settings.secret.encode("utf-8")
    if legacy.exists() and not path.exists() and settings.pseudonym_key_file is None:
        _warn(
            Text(
                f"假名化密钥仍在数据目录中（{legacy}），与它保护的数据放在一起：请把它移到 {path}"
                f"（见 README「Pseudonymisation key」）",
                f"the pseudonymisation key is still in the data folder ({legacy}), beside the"
                f" data it protects: move it to {path} (see the README, Pseudonymisation key)",
            ),
            legacy,
        )
        return _read_key(legacy)
    for found in (legacy, path):
        if found.exists() and _inside(found, settings.data_dir):
            _warn(
                Text(
                    f"数据目录中有假名化密钥文件 {found}，与它保护的数据放在一起",
                    f"a pseudonymisation key file, {found}, lies in the data folder, beside the"
                    f" data it protects",
                ),
                found,
            )
    make_private_dir(path.parent)
    return load_or_create_secret(None, path)


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
    """``42010619790308123X`` → ``******************``: no digit (see the module's note)."""
    return "*" * len(number)


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
