"""Checkpoints: the log's signed tree heads, in the C2SP tlog-checkpoint v1.0.0 body format.

The body is the origin (the log's name), the tree size in decimal, the root hash in standard
base64, each on its own line, then optional extension lines; a checkpoint travels as a signed
note of that body (``note.py``). Go's sumdb, Sigstore and the transparency-dev witnesses read
the same text, so a kept checkpoint can be checked with their tools too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from service.bilingual import BilingualError
from service.tlog.merkle import HASH_SIZE
from service.tlog.note import Signer, Verifier, open_note, sign


class CheckpointError(BilingualError):
    """A note whose text is not a checkpoint, or the checkpoint of another log."""


def _refused(why_zh: str, why_en: str) -> CheckpointError:
    return CheckpointError(f"检查点格式错误：{why_zh}", f"malformed checkpoint: {why_en}")


@dataclass(frozen=True)
class Checkpoint:
    """The log ``origin`` had ``size`` leaves whose RFC 9162 root is ``root``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        if not self.origin or "\n" in self.origin:
            raise _refused("来源名称须为非空的一行", "the origin must be one non-empty line")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise _refused(
                "大小须非负，根哈希须为 32 字节", "the size must be >= 0, the root 32 bytes"
            )
        if any(not line or "\n" in line for line in self.extensions):
            raise _refused("扩展行须为非空的一行", "an extension must be one non-empty line")
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise _refused("须以换行结尾", "it must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise _refused(
                "少于三行（来源、大小、根哈希）", "fewer than three lines (origin, size, root)"
            )
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise _refused("第一行（来源）为空", "the first line (origin) is empty")
        # decimal, no sign, no leading zero: one text per size, so one body per tree head
        if not (size_text.isascii() and size_text.isdigit()) or (
            size_text.startswith("0") and size_text != "0"
        ):
            raise _refused(
                f"第二行不是树的大小：{size_text[:40]!r}",
                f"the second line is not a tree size: {size_text[:40]!r}",
            )
        try:
            root = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError):
            root = b""
        if len(root) != HASH_SIZE or base64.b64encode(root).decode() != root_text:
            raise _refused(
                "第三行不是 base64 的 32 字节根哈希",
                "the third line is not a base64 32-byte root hash",
            )
        if any(not line for line in extensions):
            raise _refused("扩展行为空", "an extension line is empty")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer, *more: Signer) -> str:
    """The signed note of the checkpoint (the key name should be the origin)."""
    return sign(checkpoint.to_text(), signer, *more)


def open_checkpoint(
    note: bytes | str,
    verifiers: Verifier | Iterable[Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint of a signed note, once a trusted key's signature verifies (see
    ``note.open_note``) and, if ``origin`` is given, only if it is that log's."""
    checkpoint = Checkpoint.parse(open_note(note, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"检查点属于另一个日志：{checkpoint.origin}（应为 {origin}）",
            f"the checkpoint is another log's: {checkpoint.origin} (expected {origin})",
        )
    return checkpoint
