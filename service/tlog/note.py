"""Signed notes: the format of Go's ``golang.org/x/mod/sumdb/note`` and C2SP signed-note v1.0.0.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <key name> <base64(4-byte key id || Ed25519 signature)>``; the signature covers the text
with its final newline. Go's checksum database, Sigstore's Rekor and the transparency-dev
witnesses read and write this format, so our checkpoints open with their tools and theirs here.

Keys are written as Go writes them:

- verifier key (public, given to auditors): ``<name>+<8 hex digits key id>+<base64(0x01 || pub)>``
- signer key (secret, never beside the data): ``PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>``

The key id is the first 4 bytes of SHA-256(name || "\\n" || 0x01 || pub), a label only: a note
is trusted because its signature verifies under a configured public key, never by its label.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.bilingual import BilingualError

ED25519 = 0x01  # the algorithm byte of Ed25519 keys
SIGNATURE_DASH = "\u2014 "  # an em dash and a space begin every signature line
MAX_SIGNATURES = 100  # as Go: parsing stops there, so a note cannot make us verify forever
MAX_NOTE_BYTES = 1 << 20
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX = frozenset("0123456789abcdefABCDEF")


class NoteError(BilingualError):
    """A note, or a key, that cannot be trusted; the subclasses say why."""


class MalformedNote(NoteError):
    """Not a signed note: bad text, no signature lines, or a line out of the format."""


class UnverifiedNote(NoteError):
    """Well formed, but no signature by any configured key (another key, or none)."""

    def __init__(self, zh: str, en: str, names: tuple[str, ...]):
        super().__init__(zh, en)
        self.names = names  # the ``name+id`` of each signature the note did carry


class InvalidSignature(NoteError):
    """A signature line names a configured key, and its signature does not verify."""


class BadKey(NoteError):
    """A key text that is not a valid verifier or signer key."""


def _malformed(why_zh: str, why_en: str) -> MalformedNote:
    return MalformedNote(f"签名文本格式错误：{why_zh}", f"malformed signed note: {why_en}")


def is_valid_name(name: str) -> bool:
    """A key name: not empty, no space of any kind, no ``+`` (it separates a key's parts)."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _is_valid_text(text: str) -> bool:
    """Ends in a newline; no control character but newlines; no lone surrogate (not UTF-8)."""
    return text.endswith("\n") and all(
        c == "\n" or (c >= " " and c != "\x7f" and not "\ud800" <= c <= "\udfff") for c in text
    )


def key_id(name: str, public_key: bytes) -> int:
    """The 4-byte key id of an Ed25519 public key under ``name`` (big-endian)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str) -> bytes:
    """Strict standard base64: the alphabet, the padding, and nothing that re-encodes otherwise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(text) from None
    if base64.b64encode(raw).decode() != text:
        raise ValueError(text)
    return raw


def _key_parts(text: str, kind_zh: str, kind_en: str) -> tuple[str, int, bytes]:
    """``name+id+base64(0x01 || 32 bytes)`` → name, id, the 32 bytes; the id must match."""
    parts = text.split("+", 2)
    refused = BadKey(
        f"{kind_zh}格式错误（应为 名称+8位十六进制编号+base64）",
        f"malformed {kind_en} (want name+8-hex-id+base64)",
    )
    if len(parts) != 3:
        raise refused
    name, hex_id, encoded = parts
    if not is_valid_name(name) or len(hex_id) != 8 or not all(c in _HEX for c in hex_id):
        raise refused
    try:
        given_id = int(hex_id, 16)
        raw = _b64decode(encoded)
    except ValueError:
        raise refused from None
    if len(raw) != 33 or raw[0] != ED25519:
        raise BadKey(
            f"{kind_zh}不是 Ed25519 密钥（类型字节 0x01 加 32 字节）",
            f"{kind_en} is not an Ed25519 key (type byte 0x01 and 32 bytes)",
        )
    return name, given_id, raw[1:]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 public key under a name: what an auditor is given to trust the log's notes."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_key_text(cls, text: str) -> Verifier:
        name, given_id, public = _key_parts(text.strip(), "验证公钥", "verifier key")
        if key_id(name, public) != given_id:
            raise BadKey(
                f"验证公钥 {name} 的编号 {given_id:08x} 与公钥不符",
                f"verifier key {name}: its id {given_id:08x} does not match the key",
            )
        try:
            Ed25519PublicKey.from_public_bytes(public)
        except ValueError:
            raise BadKey(
                f"验证公钥 {name} 不是有效的 Ed25519 公钥",
                f"verifier key {name} is not a valid Ed25519 key",
            ) from None
        return cls(name, given_id, public)

    def key_text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (_CryptographyInvalidSignature, ValueError):
            return False
        return True


class Signer:
    """An Ed25519 private key under a name. Its text form is secret: keep it off the data folder."""

    def __init__(self, name: str, seed: bytes):
        if not is_valid_name(name):
            raise BadKey(
                f"密钥名称无效：{name!r}（不能为空，不能含空白或 +）",
                f"invalid key name {name!r} (not empty, no spaces, no +)",
            )
        if len(seed) != 32:
            raise BadKey(
                f"Ed25519 私钥种子应为 32 字节，收到 {len(seed)} 字节",
                f"an Ed25519 seed has 32 bytes, not {len(seed)}",
            )
        self.name = name
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self._seed = seed
        public = self._private.public_key().public_bytes_raw()
        self.key_id = key_id(name, public)
        self.verifier = Verifier(name, self.key_id, public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(name, seed)

    @classmethod
    def from_key_text(cls, text: str) -> Signer:
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise BadKey("签名私钥应以 PRIVATE+KEY+ 开头", "a signer key starts with PRIVATE+KEY+")
        name, given_id, seed = _key_parts(text[len(_PRIVATE_PREFIX) :], "签名私钥", "signer key")
        signer = cls(name, seed)
        if signer.key_id != given_id:
            raise BadKey(
                f"签名私钥 {name} 的编号 {given_id:08x} 与密钥不符",
                f"signer key {name}: its id {given_id:08x} does not match the key",
            )
        return signer

    def key_text(self) -> str:
        """The secret key text (Go's form). Write it only where the key belongs."""
        encoded = base64.b64encode(bytes([ED25519]) + self._seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:  # never the seed
        return f"Signer({self.name}+{self.key_id:08x})"


def generate_key(name: str) -> tuple[str, str]:
    """A new key pair as texts: (signer key, verifier key)."""
    signer = Signer.generate(name)
    return signer.key_text(), signer.verifier.key_text()


def sign(text: str, signer: Signer, *more: Signer) -> str:
    """The signed note of ``text`` (which must end in a newline), one line per signer."""
    if not _is_valid_text(text):
        raise _malformed(
            "正文须以换行结尾，且除换行外不含控制字符",
            "the text must end in a newline and hold no control character but newlines",
        )
    message = text.encode()
    lines = []
    for each in (signer, *more):
        signature = each.key_id.to_bytes(4, "big") + each.sign(message)
        lines.append(f"{SIGNATURE_DASH}{each.name} {base64.b64encode(signature).decode()}\n")
    return text + "\n" + "".join(lines)


def _by_key(verifiers: Verifier | Iterable[Verifier]) -> dict[tuple[str, int], set[bytes]]:
    known: dict[tuple[str, int], set[bytes]] = {}
    for verifier in [verifiers] if isinstance(verifiers, Verifier) else verifiers:
        known.setdefault((verifier.name, verifier.key_id), set()).add(verifier.public_key)
    return known


def open_note(note: bytes | str, verifiers: Verifier | Iterable[Verifier]) -> str:
    """The text of ``note`` once a configured key's signature on it verifies.

    As Go's ``note.Open``: signatures by keys not configured are ignored (a note may carry a
    witness's cosignature, or the next key during a rotation); a configured key whose signature
    fails makes the whole note refused; at least one configured key must have signed.
    """
    try:
        raw = note.encode() if isinstance(note, str) else note
    except UnicodeEncodeError:
        raise _malformed("不是 UTF-8 文本", "not UTF-8 text") from None
    if len(raw) > MAX_NOTE_BYTES:
        raise _malformed(f"超过 {MAX_NOTE_BYTES} 字节", f"longer than {MAX_NOTE_BYTES} bytes")
    try:
        whole = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("不是 UTF-8 文本", "not UTF-8 text") from None
    split = whole.rfind("\n\n")
    if split < 0:
        raise _malformed("没有空行分隔正文与签名", "no blank line before the signatures")
    text, signatures = whole[: split + 1], whole[split + 2 :]
    if not _is_valid_text(text):
        raise _malformed("正文含控制字符", "the text holds a control character")
    if not signatures.endswith("\n"):
        raise _malformed("签名行须以换行结尾", "the signature lines must end in a newline")
    known = _by_key(verifiers)
    message = text.encode()
    verified, others = 0, []
    seen: set[tuple[str, int, bytes]] = set()
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"签名超过 {MAX_SIGNATURES} 个", f"more than {MAX_SIGNATURES} signatures")
    for line in lines:
        name, _, encoded = line.removeprefix(SIGNATURE_DASH).partition(" ")
        try:
            blob = _b64decode(encoded)
        except ValueError:
            blob = b""
        if not line.startswith(SIGNATURE_DASH) or not is_valid_name(name) or len(blob) < 5:
            raise _malformed(
                f"签名行无法识别：{line[:80]!r}", f"unreadable signature line: {line[:80]!r}"
            )
        signer_id, signature = int.from_bytes(blob[:4], "big"), blob[4:]
        keys = known.get((name, signer_id))
        if keys is None:
            others.append(f"{name}+{signer_id:08x}")
            continue
        if len(keys) > 1:
            raise BadKey(
                f"两个不同的验证公钥同名同编号：{name}+{signer_id:08x}",
                f"two different verifier keys share the name and id {name}+{signer_id:08x}",
            )
        if (name, signer_id, signature) in seen:
            continue
        seen.add((name, signer_id, signature))
        if not Verifier(name, signer_id, next(iter(keys))).verify(message, signature):
            raise InvalidSignature(
                f"密钥 {name}+{signer_id:08x} 的签名无效：正文或签名已被改动",
                f"invalid signature for key {name}+{signer_id:08x}: the text or the signature was altered",
            )
        verified += 1
    if not verified:
        found = "、".join(others) or "无"
        raise UnverifiedNote(
            f"没有受信任密钥的签名（所带签名：{found}）",
            f"no signature by a trusted key (signatures carried: {', '.join(others) or 'none'})",
            tuple(others),
        )
    return text


# Go's name for it; ``note.open(...)`` reads as the Go package does.
open = open_note  # noqa: A001
