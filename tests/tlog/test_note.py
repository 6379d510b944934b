"""Signed notes and checkpoints: Go's published vectors, round trips, and every refusal."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from service.tlog.merkle import EMPTY_ROOT
from service.tlog.note import (
    BadKey,
    InvalidSignature,
    MalformedNote,
    NoteError,
    Signer,
    UnverifiedNote,
    Verifier,
    generate_key,
    open_note,
    sign,
)

# golang.org/x/mod/sumdb/note: the package documentation's key and note, and note_test.go's
# second key (verify only: its secret is not published)
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTG"
    "wnWLox33WWd1RvMc+QQ=\n"
)
# C2SP signed-note v1.0.0, its example
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi"
    "2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

PETER = Verifier.from_key_text(PETER_VKEY)
ENOCH = Verifier.from_key_text(ENOCH_VKEY)


def test_signing_reproduces_gos_note_byte_for_byte() -> None:
    signer = Signer.from_key_text(PETER_SKEY)
    assert signer.verifier == PETER
    assert signer.verifier.key_text() == PETER_VKEY
    assert signer.key_text() == PETER_SKEY
    assert sign(TEXT, signer) == TEXT + "\n" + PETER_SIG


def test_gos_and_c2sps_notes_open() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG, PETER) == TEXT
    assert open_note((TEXT + "\n" + ENOCH_SIG).encode(), [ENOCH]) == TEXT
    assert open_note(C2SP_NOTE, Verifier.from_key_text(C2SP_VKEY)) == (
        "This is an example message.\n"
    )


def test_signatures_by_other_keys_are_ignored_when_a_trusted_one_verifies() -> None:
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(both, [PETER]) == TEXT
    assert open_note(both, [ENOCH]) == TEXT
    assert open_note(both, [PETER, ENOCH]) == TEXT
    assert open_note(TEXT + "\n" + PETER_SIG + PETER_SIG, [PETER]) == TEXT


def test_a_note_signed_only_by_another_key_is_refused_naming_that_key() -> None:
    with pytest.raises(UnverifiedNote) as refused:
        open_note(TEXT + "\n" + ENOCH_SIG, [PETER])
    assert refused.value.names == ("EnochRoot+af0cfe78",)
    assert "EnochRoot+af0cfe78" in refused.value.text.zh
    assert "EnochRoot+af0cfe78" in refused.value.text.en
    with pytest.raises(UnverifiedNote):
        open_note(TEXT + "\n" + PETER_SIG, [])


def test_a_key_with_the_trusted_name_but_another_secret_is_refused() -> None:
    """A forger who copies the key name gets another key id: not the trusted key."""
    forger = Signer.generate("PeterNeumann")
    with pytest.raises(UnverifiedNote):
        open_note(sign(TEXT, forger), [PETER])


def test_a_forged_key_id_with_a_bad_signature_is_refused_as_invalid() -> None:
    """Even the trusted name and id on another key's signature: the signature fails."""
    forger = Signer.generate("PeterNeumann")
    signature = (PETER.key_id).to_bytes(4, "big") + forger.sign(TEXT.encode())
    forged = f"{TEXT}\n— PeterNeumann {base64.b64encode(signature).decode()}\n"
    with pytest.raises(InvalidSignature) as refused:
        open_note(forged, [PETER])
    assert "PeterNeumann+c74f20a3" in refused.value.text.zh


@pytest.mark.parametrize(
    "altered",
    [
        TEXT.replace("answer", "ANSWER") + "\n" + PETER_SIG,
        TEXT + "extra line\n\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],
        TEXT + "\n" + PETER_SIG + ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:],  # Enoch unknown: fine
    ],
)
def test_altered_text_or_signature_is_refused(altered: str) -> None:
    if "EnochRoot" in altered:
        assert open_note(altered, [PETER]) == TEXT
        with pytest.raises(InvalidSignature):
            open_note(altered, [PETER, ENOCH])
        return
    with pytest.raises(InvalidSignature):
        open_note(altered, [PETER])


@pytest.mark.parametrize(
    "bad",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
        "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + "- PeterNeumann " + PETER_SIG.split(" ", 2)[2],
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    with pytest.raises(MalformedNote) as refused:
        open_note(bad, [PETER])
    assert refused.value.text.zh.startswith("签名文本格式错误")


def test_a_note_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [PETER])
    with pytest.raises(MalformedNote):
        open_note("\udc80" + TEXT + "\n" + PETER_SIG, [PETER])


def test_two_different_keys_under_one_name_and_id_are_refused_as_ambiguous() -> None:
    twin = Verifier(PETER.name, PETER.key_id, ENOCH.public_key)
    with pytest.raises(BadKey):
        open_note(TEXT + "\n" + PETER_SIG, [PETER, twin])
    assert open_note(TEXT + "\n" + PETER_SIG, [PETER, PETER]) == TEXT  # the same key twice


@settings(max_examples=30, deadline=None)
@given(
    text=st.text(
        st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"]),
        max_size=200,
    )
)
def test_any_text_round_trips_and_any_changed_character_is_refused(text: str) -> None:
    signer = Signer.generate("test.example/log")
    lines = text.replace("\r", "") + "\n"
    signed = sign(lines, signer)
    assert open_note(signed, signer.verifier) == lines
    changed = "#" + lines if not lines.startswith("#") else "%" + lines[1:]
    with pytest.raises(InvalidSignature):
        open_note(changed + signed[len(lines) :], signer.verifier)


def test_generated_keys_round_trip_through_their_texts() -> None:
    secret, public = generate_key("civil-affairs.example/decisions/v1")
    signer = Signer.from_key_text(secret)
    verifier = Verifier.from_key_text(public)
    assert signer.verifier == verifier
    assert public.startswith(f"civil-affairs.example/decisions/v1+{verifier.key_id:08x}+")
    assert open_note(sign("hello\n", signer), verifier) == "hello\n"
    # PRIVATE+KEY+name+id+base64: the seed's base64 may itself hold "+", so split off the rest.
    encoded_seed = secret.removeprefix("PRIVATE+KEY+").split("+", 2)[2]
    assert secret not in repr(signer) and encoded_seed not in repr(signer)


def test_text_that_cannot_be_signed_is_refused() -> None:
    signer = Signer.from_key_text(PETER_SKEY)
    for text in ("no newline", "tab\there\n", "", "bell\x07\n", "lone \ud800 surrogate\n"):
        with pytest.raises(MalformedNote):
            sign(text, signer)


@pytest.mark.parametrize("hex_id", ["0xc74f20", "c74f_20a", " c74f20a", "+c74f20a"])
def test_a_key_id_must_be_eight_hex_digits(hex_id: str) -> None:
    with pytest.raises(BadKey):
        Verifier.from_key_text(PETER_VKEY.replace("c74f20a3", hex_id))


def test_a_seed_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(BadKey):
        Signer("log", bytes(31))


def test_every_mangled_verifier_key_is_refused() -> None:
    """As Go's test: cutting out any part of the key text leaves no valid key."""
    for i in range(len(PETER_VKEY)):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            mangled = PETER_VKEY[:i] + PETER_VKEY[j:]
            if mangled == PETER_VKEY:
                continue
            with pytest.raises(BadKey):
                Verifier.from_key_text(mangled)


@pytest.mark.parametrize(
    "key",
    [
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),
        PETER_SKEY.removeprefix("PRIVATE+KEY+"),
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        PETER_SKEY[:-4],
    ],
)
def test_bad_signer_keys_are_refused_in_both_languages(key: str) -> None:
    with pytest.raises(BadKey) as refused:
        Signer.from_key_text(key)
    assert isinstance(refused.value, NoteError)
    assert refused.value.text.zh != refused.value.text.en


# ---- checkpoints ----

# the same seed under the log's name (research note, vector D)
CHECKPOINT_KEY = Signer("example.com/test-log", base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:])
ROOT_8 = base64.b64decode("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
SIGNED_8 = (
    "example.com/test-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
    "— example.com/test-log G1QiQAmfTlmg7wA5FU0OBEp8LaPgOk4AyIOLzLcPpZUb9l20IsXvkzpjZNbP9kfHUFq"
    "VYHFtgc4lcdGmIkNyGjp9UAU=\n"
)


def test_a_checkpoint_signs_and_opens_as_the_research_vector() -> None:
    checkpoint = Checkpoint("example.com/test-log", 8, ROOT_8)
    assert CHECKPOINT_KEY.verifier.key_text() == (
        "example.com/test-log+1b542240+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    assert sign_checkpoint(checkpoint, CHECKPOINT_KEY) == SIGNED_8
    assert open_checkpoint(SIGNED_8, CHECKPOINT_KEY.verifier) == checkpoint
    assert open_checkpoint(SIGNED_8, [CHECKPOINT_KEY.verifier], "example.com/test-log") == (
        checkpoint
    )


def test_a_checkpoint_of_another_log_is_refused() -> None:
    with pytest.raises(CheckpointError) as refused:
        open_checkpoint(SIGNED_8, CHECKPOINT_KEY.verifier, "example.com/other-log")
    assert "example.com/other-log" in refused.value.text.zh


@settings(max_examples=50, deadline=None)
@given(
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1), max_size=3
    ),
)
def test_checkpoints_round_trip(size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint("civil-affairs.example/decisions/v1", size, root, tuple(extensions))
    text = checkpoint.to_text()
    assert text.split("\n")[:3] == [checkpoint.origin, str(size), base64.b64encode(root).decode()]
    assert Checkpoint.parse(text) == checkpoint


def test_the_empty_tree_checkpoint() -> None:
    text = Checkpoint("log", 0, EMPTY_ROOT).to_text()
    assert text == "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


@pytest.mark.parametrize(
    "text",
    [
        "log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",  # no final newline
        "log\n8\n",
        "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "log\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "log\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "log\n٨\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # an Arabic-Indic eight
        "log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",
        "log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n",
        "log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n",  # an empty extension
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)
