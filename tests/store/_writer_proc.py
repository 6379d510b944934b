"""Child process for the multi-process chain test:
``python _writer_proc.py URL COUNT ACTOR`` with the log's signer key text on stdin's first line.

A plain script rather than a multiprocessing target so that the child imports nothing
from the test tree (works whatever pytest import mode is in use). It prints ``ready``,
waits for ``go`` on stdin so that all children start appending at the same moment, then
records COUNT decisions and prints ``done <count>``.
"""

from __future__ import annotations

import sys
from datetime import date

from service.store import DecisionStore, canonical_json, sha256_hex
from service.store.transparency import LogKey
from service.tlog.note import Signer


def main(url: str, count: int, actor: str) -> None:
    bundle = canonical_json({"jurisdiction": "cn-sh", "rules": ["multi-process"]})
    # The key comes on stdin, as it would from a key file: never on a command line.
    key = LogKey(Signer.from_key_text(sys.stdin.readline()))
    with DecisionStore(url, signer=key) as store:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("expected 'go'")
        for i in range(count):
            store.record(
                jurisdiction="cn-sh",
                as_of=date(2024, 6, 1),
                bundle_sha256=sha256_hex(bundle),
                bundle_version="mp",
                bundle_canonical_json=bundle,
                engine_version="0.1.0",
                request_json=canonical_json({"actor": actor, "i": i}),
                response_json=canonical_json({"ok": True}),
                actor=actor,
                programs_summary={"dibao": "eligible"},
            )
        print(f"done {count}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
