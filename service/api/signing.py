"""The log's signing key: a file apart from the data (``ELIGIBILITY_SIGNING_KEY_FILE``).

The key signs the checkpoints of the decision log. Whoever holds it can vouch for a rewritten
log, so it never lives in the database, nor in the data folder (nor, then, in the data's
backups): by default ``$XDG_CONFIG_HOME/eligibility/keys/signing.key``, owner-only (0600 in a
0700 folder). ``eligibility audit keygen`` writes it (and the public key beside it, ``.pub``);
``serve`` makes one on first start unless ``ELIGIBILITY_PRODUCTION`` is set, where a missing
key, or one inside the data folder, stops it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from service.bilingual import BilingualError
from service.store import make_private_dir
from service.store.transparency import LogKey
from service.tlog.note import NoteError, Signer

DEFAULT_LOG_NAME = "eligibility/decisions"
"""The log's name (the key's name, each checkpoint's origin): a new name is a new log."""


class SigningKeyError(BilingualError):
    """The signing key cannot be used: missing, unreadable, malformed, or in the wrong place."""


def public_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def inside(path: Path, folder: Path) -> bool:
    """True if ``path`` is ``folder`` or under it (symbolic links resolved)."""
    target, root = path.expanduser().resolve(), folder.expanduser().resolve()
    return target == root or root in target.parents


def load_key(path: Path) -> LogKey:
    """The log key of the key file ``path``."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SigningKeyError(
            f"没有签名密钥文件 {path}：请运行 eligibility audit keygen",
            f"no signing key file at {path}: run eligibility audit keygen",
        ) from None
    except (OSError, UnicodeError) as error:
        kind = type(error).__name__
        raise SigningKeyError(
            f"无法读取签名密钥文件 {path}（{kind}）",
            f"cannot read the signing key file {path} ({kind})",
        ) from None
    try:
        return LogKey(Signer.from_key_text(text))
    except NoteError as error:
        raise SigningKeyError(
            f"签名密钥文件 {path} 无效：{error.text.zh}",
            f"the signing key file {path} is not valid: {error.text.en}",
        ) from None


def write_new_key(path: Path, name: str = DEFAULT_LOG_NAME) -> LogKey:
    """Writes a new key pair: ``path`` (secret, 0600, in a 0700 folder) and ``path.pub``.

    An existing key is never replaced (its checkpoints would no longer verify): refused.
    Several processes may race: the file is written under a temporary name and linked into
    place, so every process ends up with the same complete key.
    """
    try:
        signer = Signer.generate(name)
    except NoteError as error:
        raise SigningKeyError(error.text.zh, error.text.en) from None
    make_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(signer.key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise SigningKeyError(
                f"签名密钥文件 {path} 已存在，不会覆盖（覆盖后已签的检查点将无法验证）",
                f"the signing key file {path} exists and is never replaced (the checkpoints"
                " it signed would no longer verify)",
            ) from None
    finally:
        temp.unlink(missing_ok=True)
    key = LogKey(signer)
    with contextlib.suppress(OSError):  # the public half is a convenience copy
        public_key_path(path).write_text(key.verifier_text() + "\n", encoding="ascii")
    return key


def load_or_create_key(path: Path, *, create: bool) -> LogKey:
    """The key of ``path``; with ``create``, a new one if there is none yet."""
    if create and not path.exists():
        with contextlib.suppress(SigningKeyError):  # another process made it meanwhile
            return write_new_key(path)
    return load_key(path)


def refuse_key_in_data_folder(path: Path, data_dir: Path) -> None:
    """Production: the key must not sit beside the data it vouches for."""
    if inside(path, data_dir):
        raise SigningKeyError(
            f"生产模式下签名密钥不能放在数据目录中（{path} 在 {data_dir} 内）：请把它移到别处，"
            "并设置 ELIGIBILITY_SIGNING_KEY_FILE",
            f"in production the signing key must not be in the data folder ({path} is inside"
            f" {data_dir}): move it elsewhere and set ELIGIBILITY_SIGNING_KEY_FILE",
        )
