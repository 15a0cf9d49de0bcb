"""Fault-injection results for docs/reliability.md: each fault test reports what it saw. With
ENCLAVE_RELIABILITY_LOG set, one JSON line per fault is appended there; `python bench/reliability.py LOG`
renders the table."""

from __future__ import annotations

import json
import os
import time


def record(fault: str, in_flight: int, lost: int, duplicated: int, recovery_s: float, mode: str) -> None:
    path = os.environ.get("ENCLAVE_RELIABILITY_LOG")
    if not path:
        return
    row = {
        "fault": fault,
        "mode": mode,
        "in_flight": in_flight,
        "lost": lost,
        "duplicated": duplicated,
        "recovery_s": round(recovery_s, 1),
        "at": time.strftime("%Y-%m-%d %H:%M"),
    }
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
