"""The shapes of the answers, for the OpenAPI document (the handlers answer with JSON bytes)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.contract.request import PROGRAM_IDS
from service.contract.response import EvaluationResponse
from service.store import ROLES

ProgramName = Literal["tekun", "dibao", "marginal", "rigid_expenditure", "temporary"]
StatusName = Literal["eligible", "ineligible", "insufficient_data", "not_applicable"]
assert set(PROGRAM_IDS) == set(ProgramName.__args__)  # type: ignore[attr-defined]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class DecisionSummary(_Doc):
    decision_id: str
    seq: int
    created_at: str
    jurisdiction: str
    as_of: date
    actor: str
    bundle_sha256: str
    programs: dict[str, str] = Field(description="program → status")


class DecisionPage(_Doc):
    items: list[DecisionSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")
    skipped_damaged: int = Field(
        description="stored rows of this page left out because they no longer read as records"
        " (changed outside the service; GET /v1/audit/verify names the first): the page may"
        " then be short although next_cursor is set"
    )


class DecisionRecord(_Doc):
    decision_id: str
    seq: int
    created_at: str
    actor: str
    jurisdiction: str
    as_of: date
    engine_version: str
    bundle_sha256: str
    prev_hash: str
    record_hash: str
    request: dict[str, Any] = Field(description="the stored request, without names or ID numbers")
    personal: dict[str, dict[str, str]] = Field(
        description="member id → name/ID-number pseudonyms (HMAC) and masked forms"
    )
    response: EvaluationResponse


class DiffEntry(_Doc):
    path: str
    stored: Any
    replayed: Any


class BundleRef(_Doc):
    jurisdiction: str
    version: str
    sha256: str
    components: list[str]


class ReplayReport(_Doc):
    decision_id: str
    rules: Literal["stored", "current", "as_of"]
    stored_bundle: BundleRef
    bundle: BundleRef
    identical: bool = Field(description="the replayed response equals the stored one exactly")
    decision_identical: bool = Field(
        description="the same statuses, amounts, trace steps and values; any difference is in"
        " the wording of the explanation or the engine version only"
    )
    diff: list[DiffEntry]
    rule_changes: list[dict[str, Any]] = Field(
        default_factory=list, description="parameters that differ between the two bundles"
    )


class VerifyResult(_Doc):
    ok: bool
    checked: int
    first_broken: dict[str, Any] | None = Field(description="seq, decision_id and reason")
    head_seq: int
    tree_size: int = Field(description="records in the log (the highest seq)")
    checkpoint_size: int | None = Field(
        description="size of the latest signed checkpoint, checked (null: none checked)"
    )


class ReadyReport(_Doc):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(description="database, schema, rules: ok, or what is wrong")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["intake", "integrator", "auditor", "admin"]
    name: str = Field(
        min_length=1,
        max_length=200,
        # Documented here, checked by the action with a precise message (no control characters).
        json_schema_extra={"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"},
    )


class KeyInfo(_Doc):
    key_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None


class KeyCreated(KeyInfo):
    key: str = Field(description="the secret: shown once, never stored")


assert set(KeyCreate.model_fields["role"].annotation.__args__) == set(ROLES)  # type: ignore[union-attr]


# --- the transparency log (/v1/audit/checkpoint, /v1/audit/proof/...) ----------------------

B64 = "base64 SHA-256"


class CheckpointJson(_Doc):
    origin: str = Field(description="the log's name (the signing key's)")
    tree_size: int
    root_hash: str = Field(description=f"RFC 9162 root of the first tree_size records ({B64})")
    note: str = Field(description="the signed note, as text/plain gives it")


class InclusionProofJson(_Doc):
    decision_id: str
    seq: int
    leaf_index: int = Field(description="seq - 1")
    tree_size: int
    leaf_hash: str = Field(description=f"SHA-256(0x00 || bytes of record_hash) ({B64})")
    hashes: list[str] = Field(description=f"RFC 9162 inclusion path, leaf side first ({B64})")
    checkpoint: str | None = Field(
        None, description="the signed checkpoint of tree_size, when it is the latest"
    )


class ConsistencyProofJson(_Doc):
    first: int
    second: int
    hashes: list[str] = Field(description=f"RFC 9162 consistency proof ({B64})")
    checkpoint: str | None = Field(
        None, description="the signed checkpoint of second, when it is the latest"
    )
