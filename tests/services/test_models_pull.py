"""`enclave models pull`: argument handling and the offline copy of the bundled models (no network here)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from services.models_pull import main


def test_help_and_usage_errors_return_codes_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--dest" in capsys.readouterr().out
    assert main([]) == 2
    assert "--dest" in capsys.readouterr().err


def test_a_malformed_gguf_spec_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dest", str(tmp_path), "--no-llm", "--gguf", "just-a-repo"]) == 2
    assert "REPO:FILE.gguf" in capsys.readouterr().err


def test_nothing_configured_to_fetch_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dest", str(tmp_path / "out"), "--no-llm"]) == 2
    assert "--bundled" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_models_from_flags_and_env_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("EMBEDDER_MODEL=BAAI/bge-small-en-v1.5\nVLLM_MODEL=Qwen/Qwen2.5-0.5B-Instruct\n")
    args = [
        "--dest",
        str(tmp_path / "out"),
        "--env-file",
        str(env),
        "--dry-run",
        "--gguf",
        "org/repo:model.Q4_K_M.gguf",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "would fetch embedder: BAAI/bge-small-en-v1.5" in out
    assert "would fetch llm: Qwen/Qwen2.5-0.5B-Instruct" in out
    assert "would fetch gguf: org/repo:model.Q4_K_M.gguf" in out
    assert not (tmp_path / "out").exists()


def test_bundled_models_are_copied_with_a_verifiable_manifest(tmp_path: Path) -> None:
    dest = tmp_path / "models"
    assert main(["--dest", str(dest), "--bundled", "--no-llm"]) == 0
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    paths = {e["path"] for e in manifest["entries"]}
    assert paths == {"embedder/all-MiniLM-L6-v2", "gguf/SmolLM2-135M-Instruct.Q4_1.gguf"}
    for entry in manifest["entries"]:
        assert entry["files"]
        for rel, digest in entry["files"].items():
            assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == digest

    check = subprocess.run(
        ["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=dest, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr

    # The copy is a working model folder: the embedder can be pointed at it.
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(dest / "embedder" / "all-MiniLM-L6-v2"), device="cpu")
    assert model.encode(["hello"]).shape == (1, 384)
