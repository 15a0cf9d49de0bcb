"""The real compose.yaml (cpu profile), end to end through the published gateway port; docker only to
inject faults (kill, restart, scale) and to look inside containers."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx

from tests.compose.conftest import Stack, wait_done, wait_healthy
from tests.faults.record import record
from tests.support import DOCS

# Five formats, each with a phrase to find it by.
FILES = {
    "fake-memo.pdf": "memo",
    "fake.docx": "document",
    "example-10k-1p.html": "securities",
    "sample-README.md": "readme",
    "norwich-city.txt": "Norwich",
}


def _upload(http: httpx.Client, name: str, collection: str) -> dict[str, Any]:
    r = http.post(
        "/v1/documents",
        files={"files": (name, (DOCS / name).read_bytes())},
        data={"collection": collection},
    )
    assert r.status_code in (200, 201, 202), r.text
    return r.json()["documents"][0]


def _records(http: httpx.Client, n: int, tag: str, first: int = 0) -> list[str]:
    body = [
        {
            "title": f"{tag} ledger {i}",
            "text": f"Ledger {tag}-{i}: the {tag} depot shipped {i} crates of tea. " * 30,
        }
        for i in range(first, first + n)
    ]
    r = http.post("/v1/documents/text", json=body)
    assert r.status_code in (200, 201, 202), r.text
    return [d["id"] for d in r.json()["documents"]]


def _no_duplicates(http: httpx.Client, ids: list[str], tag: str) -> None:
    """Every document is in the catalog once, ready, and its chunks are in the index once each."""
    page = http.get("/v1/documents", params={"q": f"{tag} ledger", "limit": 200}).json()
    assert page["total"] == len(ids), page["total"]
    for doc_id in ids[:: max(1, len(ids) // 5)]:
        doc = http.get(f"/v1/documents/{doc_id}").json()
        i = doc["title"].rsplit(" ", 1)[1]
        hits = http.post("/v1/search", json={"query": f"Ledger {tag}-{i} depot crates", "top_k": 50}).json()[
            "results"
        ]
        mine = [(h["document_id"], h["chunk"]) for h in hits if h["document_id"] == doc_id]
        assert mine, f"{doc_id} not found"
        assert len(mine) == len(set(mine)), f"chunks of {doc_id} indexed twice: {mine}"
        assert len(mine) <= doc["chunks"]


def test_every_service_becomes_healthy(stack: Stack) -> None:
    services = {c["Service"] for c in wait_healthy(stack)}
    assert {
        "gateway",
        "worker",
        "beat",
        "migrate",
        "embedder-cpu",
        "llm-cpu",
        "qdrant",
        "postgres",
        "redis",
    } <= services


def test_five_formats_are_ingested_by_the_workers_and_found_with_file_and_page(
    stack: Stack, admin_key: str
) -> None:
    with stack.client(admin_key) as http:
        docs = {name: _upload(http, name, "formats") for name in FILES}
        done = wait_done(http, [d["id"] for d in docs.values()])
        assert {d["status"] for d in done.values()} == {"ready"}, {
            d["filename"]: d["error"] for d in done.values()
        }
        for name, word in FILES.items():
            hits = http.post("/v1/search", json={"query": word, "collection": "formats", "top_k": 10}).json()[
                "results"
            ]
            assert any(h["filename"] == name for h in hits), (name, [h["filename"] for h in hits])
        pdf = http.post("/v1/search", json={"query": "memo", "collection": "formats"}).json()["results"]
        assert any(h["filename"] == "fake-memo.pdf" and h["page"] == 1 for h in pdf)


def test_a_streamed_answer_with_citations_comes_from_the_llama_cpp_container(
    stack: Stack, admin_key: str
) -> None:
    with stack.client(admin_key, timeout=300) as http:
        doc = http.post(
            "/v1/documents/text",
            json=[
                {
                    "title": "ferry timetable",
                    "text": "The harbour ferry to Tresco leaves at 6:40 every morning.",
                    "collection": "ferries",
                }
            ],
        ).json()["documents"][0]
        assert wait_done(http, [doc["id"]])[doc["id"]]["status"] == "ready"
        # One collection: the prompt holds only its passages. (With every collection, the dense number
        # tables of the 10-K page sometimes overflowed the 4,096-token context: the gateway's token
        # estimate counts low for such text — a known gap, see docs/deploy.md.)
        body = {
            "model": "enclave:ferries",
            "stream": True,
            "max_tokens": 48,
            "messages": [{"role": "user", "content": "When does the harbour ferry to Tresco leave?"}],
        }
        content, citations = "", []
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200, r.read()
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                assert "error" not in event, event
                if event.get("object") == "enclave.citations":
                    citations = event["citations"]
                for choice in event.get("choices", []):
                    content += choice.get("delta", {}).get("content") or ""
        assert content.strip(), "the llama.cpp container answered nothing"
        assert citations and citations[0]["document_id"] == doc["id"]


def test_three_workers_share_the_work(stack: Stack, admin_key: str) -> None:
    stack.run("up", "-d", "--no-build", "--no-recreate", "--scale", "worker=3", "worker", timeout=300)
    wait_healthy(stack, timeout=300)
    workers = stack.container_ids("worker")
    assert len(workers) == 3
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    tag = f"share{uuid.uuid4().hex[:4]}"
    with stack.client(admin_key) as http:
        ids = []
        for b in range(6):  # six bulk requests: six groups of records, spread over the workers
            ids += _records(http, 8, tag, first=8 * b)
        done = wait_done(http, ids)
    assert {d["status"] for d in done.values()} == {"ready"}
    took = [
        len(
            re.findall(
                r"Task ingest\.records\[",
                stack.docker("logs", "--since", since, w).stderr
                + stack.docker("logs", "--since", since, w).stdout,
            )
        )
        for w in workers
    ]
    assert sum(1 for n in took if n > 0) >= 2, f"tasks per worker: {took}"


def test_a_worker_killed_mid_ingest_loses_and_duplicates_nothing(stack: Stack, admin_key: str) -> None:
    tag = f"kill{uuid.uuid4().hex[:4]}"
    with stack.client(admin_key) as http:
        ids = []
        for b in range(4):
            ids += _records(http, 16, tag, first=16 * b)
        time.sleep(2)  # the workers are busy now
        for w in stack.container_ids("worker")[:2]:
            stack.docker("kill", w)
        t0 = time.monotonic()
        stack.run("up", "-d", "--no-build", "--scale", "worker=3", "worker", timeout=300)
        done = wait_done(http, ids, timeout=900)
        assert {d["status"] for d in done.values()} == {"ready"}, [d["error"] for d in done.values()]
        _no_duplicates(http, ids, tag)
        record(
            "docker kill of 2 of 3 worker containers mid-ingest",
            len(ids),
            0,
            0,
            time.monotonic() - t0,
            "compose",
        )


def test_a_redis_restart_mid_ingest_loses_and_duplicates_nothing(stack: Stack, admin_key: str) -> None:
    tag = f"redis{uuid.uuid4().hex[:4]}"
    with stack.client(admin_key) as http:
        ids = []
        for b in range(4):
            ids += _records(http, 16, tag, first=16 * b)
        t0 = time.monotonic()
        stack.run("restart", "redis", timeout=120)
        wait_healthy(stack, timeout=300)
        done = wait_done(http, ids, timeout=900)
        assert {d["status"] for d in done.values()} == {"ready"}, [d["error"] for d in done.values()]
        _no_duplicates(http, ids, tag)
        record("Redis container restarted mid-ingest", len(ids), 0, 0, time.monotonic() - t0, "compose")
        after = _records(http, 1, tag + "after")  # and the stack takes new work
        assert wait_done(http, after)[after[0]]["status"] == "ready"


def _connect(stack: Stack, container: str, host: str, port: int) -> str:
    code = (
        "import socket,sys\n"
        f"try:\n socket.create_connection(({host!r}, {port}), timeout=5).close(); print('connected')\n"
        "except OSError as e:\n print(type(e).__name__, e.errno)"
    )
    return stack.docker("exec", container, "python", "-c", code).stdout.strip()


def test_model_containers_cannot_open_a_connection_outside_the_stack(stack: Stack) -> None:
    """Model servers, workers and state are on the internal network only. The gateway, also on the
    published one, reaches its own address there; from the internal network that address is outside the
    stack's reach (no route through the host), as is everything else beyond it."""
    gateway = stack.container_ids("gateway")[0]
    info = json.loads(stack.docker("inspect", gateway).stdout)[0]["NetworkSettings"]["Networks"]
    edge_ip = next(v["IPAddress"] for k, v in info.items() if k.endswith("_edge"))
    assert _connect(stack, gateway, edge_ip, 8000) == "connected"
    for service in ("llm-cpu", "embedder-cpu", "worker"):
        c = stack.container_ids(service)[0]
        nets = json.loads(stack.docker("inspect", c).stdout)[0]["NetworkSettings"]["Networks"]
        assert [k for k in nets if k.endswith("_edge")] == [], f"{service} is on the published network"
        gw = next(iter(nets.values()))["Gateway"]
        for host in (edge_ip, gw):  # another network of the stack, and the host behind the gateway
            result = _connect(stack, c, host, 8000)
            assert result != "connected", f"{service} reached {host}"


def test_the_llm_runs_from_the_pulled_models_folder(stack: Stack) -> None:
    """The air-gapped path: `enclave models pull` filled the folder mounted as /models, and the llama.cpp
    container serves the GGUF from there (LLAMACPP_MODEL names it), with no network out."""
    llm = stack.container_ids("llm-cpu")[0]
    mounts = json.loads(stack.docker("inspect", llm).stdout)[0]["Mounts"]
    models = next(m for m in mounts if m["Destination"] == "/models")
    assert models["Type"] == "bind" and models["Source"] == stack.env["MODELS_DIR"]
    cmdline = stack.docker("exec", llm, "cat", "/proc/1/cmdline").stdout.replace("\0", " ")
    assert f"/models/gguf/{stack.env['LLAMACPP_MODEL']}" in cmdline


def test_every_built_image_runs_as_a_non_root_user_and_keeps_no_secret(stack: Stack) -> None:
    secrets = [
        stack.env[k]
        for k in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "QDRANT_API_KEY", "ENCLAVE_OPERATOR_KEY")
    ]
    for image in (
        "enclave:latest",
        "enclave-embedder:cpu",
        "enclave-test/postgres:latest",
        "enclave-test/redis:latest",
        "enclave-test/qdrant-fake:latest",
    ):
        user = stack.docker("image", "inspect", image, "--format", "{{.Config.User}}").stdout.strip()
        assert user and user not in ("root", "0", "0:0"), f"{image} runs as {user!r}"
        history = stack.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
        env = stack.docker("image", "inspect", image, "--format", "{{json .Config.Env}}").stdout
        for s in secrets:
            assert s not in history and s not in env, f"a secret is in {image}"
        assert not re.search(r"(PASSWORD|API_KEY|TOKEN)=[^\s\"$]", history + env), f"{image}: {history}"
