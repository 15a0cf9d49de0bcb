"""Time to first token through the gateway beside the LLM server's own, for the same prompt, same run.

Starts a llama.cpp server with the bundled GGUF and a real `enclave gateway` (uvicorn) pointed at it, then
alternates: the exact prompt the gateway builds, sent straight to the LLM server, and the question sent
through /v1/chat/completions (stream). Reports p50/p95 of both and the difference.

    python bench/chat_latency.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OPERATOR, REPO, percentile


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def ttft(client: httpx.Client, url: str, body: dict, headers: dict | None = None) -> float:
    t0 = time.perf_counter()
    with client.stream("POST", url, json=body, headers=headers or {}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            choices = chunk.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                return time.perf_counter() - t0
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    from services.llm import bundled_gguf, llama_server_argv

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    lp, gp = port(), port()
    data = Path(tempfile.mkdtemp())
    llm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            *llama_server_argv(bundled_gguf(), "smollm2", "127.0.0.1", lp, n_ctx=4096),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gw_env = {
        **env,
        "ENCLAVE_DATA_DIR": str(data),
        "ENCLAVE_OPERATOR_KEY": OPERATOR,
        "ENCLAVE_LLM_URL": f"http://127.0.0.1:{lp}/v1",
        "ENCLAVE_LLM_MODEL": "smollm2",
        "ENCLAVE_RATE_LIMIT_PER_MINUTE": "0",
        "ENCLAVE_LOG_LEVEL": "WARNING",
    }
    gw = subprocess.Popen(
        [sys.executable, "-m", "boot.cli", "gateway", "--port", str(gp)],
        env=gw_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(f"http://127.0.0.1:{lp}/v1/models")
        wait(f"http://127.0.0.1:{gp}/healthz")
        g = f"http://127.0.0.1:{gp}"
        with httpx.Client(timeout=120) as c:
            key = c.post(
                g + "/v1/admin/tenants",
                json={"name": "bench"},
                headers={"Authorization": f"Bearer {OPERATOR}"},
            ).json()["admin_key"]
            h = {"Authorization": f"Bearer {key}"}
            doc = c.post(
                g + "/v1/documents",
                headers=h,
                files=[
                    (
                        "files",
                        (
                            "memo.txt",
                            b"On May 5, 2023 there were 20,000 bottles of water, 10,000 blankets "
                            b"and 200 laptops "
                            b"delivered. A total of 3 trucks were used for 15 hours.",
                        ),
                    )
                ],
            ).json()["documents"][0]
            while c.get(f"{g}/v1/documents/{doc['id']}", headers=h).json()["status"] != "ready":
                time.sleep(0.3)
            question = "How many laptops were delivered?"
            # The exact messages the gateway sends, rebuilt in-process with the same code.
            from enclave.chat.prompt import Source, build_messages
            from enclave.chat.tokens import default_counter

            hit = c.post(g + "/v1/search", headers=h, json={"query": question, "top_k": 1}).json()["results"][
                0
            ]
            msgs, _ = build_messages(
                question,
                [Source(1, hit["document_id"], hit["filename"], hit["page"], hit["text"], 1.0)],
                [],
                default_counter(),
                4096,
                16,
            )
            direct_body = {
                "model": "smollm2",
                "messages": msgs,
                "max_tokens": 16,
                "stream": True,
                "temperature": 0,
            }
            gw_body = {
                "model": "enclave",
                "messages": [{"role": "user", "content": question}],
                "max_tokens": 16,
                "stream": True,
                "temperature": 0,
            }
            for _ in range(3):  # warm both paths
                ttft(c, f"http://127.0.0.1:{lp}/v1/chat/completions", direct_body)
                ttft(c, g + "/v1/chat/completions", gw_body, h)
            direct, through = [], []
            for _ in range(args.rounds):
                direct.append(ttft(c, f"http://127.0.0.1:{lp}/v1/chat/completions", direct_body))
                through.append(ttft(c, g + "/v1/chat/completions", gw_body, h))
        out = {
            "rounds": args.rounds,
            "llm_ttft_p50_ms": round(percentile(direct, 50) * 1000, 1),
            "llm_ttft_p95_ms": round(percentile(direct, 95) * 1000, 1),
            "gateway_ttft_p50_ms": round(percentile(through, 50) * 1000, 1),
            "gateway_ttft_p95_ms": round(percentile(through, 95) * 1000, 1),
        }
        out["gateway_adds_p50_ms"] = round(out["gateway_ttft_p50_ms"] - out["llm_ttft_p50_ms"], 1)
        print(json.dumps(out))
    finally:
        for p in (gw, llm):
            p.terminate()
            p.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
