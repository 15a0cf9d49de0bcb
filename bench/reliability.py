"""Renders the fault-injection results (tests/faults, tests/compose) as the table in docs/reliability.md.

ENCLAVE_RELIABILITY_LOG=/tmp/rel.jsonl python -m pytest tests/faults -q   # (and make compose-test)
python bench/reliability.py /tmp/rel.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    rows = [json.loads(line) for line in Path(argv[0]).read_text().splitlines() if line.strip()]
    print("| fault | mode | documents in flight | lost | duplicated | recovery |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['fault']} | {r['mode']} | {r['in_flight']} | {r['lost']} | {r['duplicated']} "
            f"| {r['recovery_s']:.0f} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
