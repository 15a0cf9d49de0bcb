"""`enclave ingest` of the 20 SEC 10-Q PDFs vs a plain sequential upload loop of the same files, in the same
run against the same `enclave serve` (each into its own collection, so both do the whole work). Wall time
is from the first byte sent until every document is ready or failed; the upload phase is timed apart.

    python bench/bulk_ingest.py [--concurrency 4] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, OPERATOR, REPO
from enclave_client import EnclaveClient

SEC_PDFS = DATA / "qa" / "docugami-sec-10-q" / "docs"


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ENCLAVE_OPERATOR_KEY": OPERATOR, "ENCLAVE_DATABASE_URL": "", "HF_HUB_OFFLINE": "1"}
    log = (data_dir / "serve.log").open("ab")
    cmd = [sys.executable, "-m", "boot.cli", "serve", "--port", str(port), "--data-dir", str(data_dir / "d")]
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _member_key(url: str) -> str:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    t = httpx.post(
        f"{url}/v1/admin/tenants", json={"name": "bench"}, headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    t.raise_for_status()
    with EnclaveClient(url, t.json()["admin_key"]) as admin:
        return str(admin.create_key("member", "bench").key)


def sequential_loop(url: str, key: str, files: list[Path]) -> dict[str, float]:
    """What a first script does: upload the files one after another, then wait for all of them."""
    started = time.monotonic()
    with EnclaveClient(url, key, timeout=600) as client:
        ids = [client.upload_file(f, collection="loop")[0].id for f in files]
        uploaded = time.monotonic()
        done = client.wait_until_ready(ids, timeout=7200, poll_s=1.0)
    ended = time.monotonic()
    ready = sum(1 for d in done.values() if d.status == "ready")
    return {"upload_s": uploaded - started, "wall_s": ended - started, "ready": ready}


def cli_ingest(url: str, key: str, folder: Path, concurrency: int) -> dict[str, float]:
    env = {**os.environ, "ENCLAVE_API_KEY": key}
    cmd = [sys.executable, "-m", "boot.cli", "ingest", str(folder), "--url", url, "--collection", "cli"]
    cmd += ["--concurrency", str(concurrency), "--json"]
    started = time.monotonic()
    run = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, timeout=7200)
    wall = time.monotonic() - started
    report = json.loads(run.stdout)
    return {"wall_s": wall, "ready": report["summary"]["ready"], "exit_code": run.returncode}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    files = sorted(SEC_PDFS.glob("*.pdf"))[: args.limit]
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = _serve(Path(tmp), args.port)
        try:
            key = _member_key(url)
            with EnclaveClient(url, key) as warm:  # load the models before either run is timed
                warm.wait_until_ready([warm.upload_records([{"title": "w", "text": "warm up"}])[0].id])
            loop = sequential_loop(url, key, files)
            cli = cli_ingest(
                url, key, files[0].parent if args.limit >= 20 else _subset(tmp, files), args.concurrency
            )
        finally:
            proc.terminate()
            proc.wait(30)
    print(json.dumps({"files": len(files), "sequential_loop": loop, "enclave_ingest": cli}, indent=2))
    print(
        f"sequential loop {loop['wall_s']:.1f}s (uploads {loop['upload_s']:.1f}s), "
        f"enclave ingest {cli['wall_s']:.1f}s, "
        f"ratio loop/ingest {loop['wall_s'] / cli['wall_s']:.2f}"
    )
    return 0


def _subset(tmp: str, files: list[Path]) -> Path:
    folder = Path(tmp) / "subset"
    folder.mkdir()
    for f in files:
        (folder / f.name).symlink_to(f)
    return folder


if __name__ == "__main__":
    raise SystemExit(main())
