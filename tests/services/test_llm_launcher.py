"""`python -m services.llm`: the cpu profile's llama.cpp launcher finds its model or says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.llm import bundled_gguf, resolve_gguf
from tests.procs import REPO


def test_with_no_model_configured_it_serves_the_bundled_smollm2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "services.llm", "--print-argv", "--port", "9000", "--alias", "chat"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin", "LLAMACPP_MODEL": ""},
    )
    assert out.returncode == 0, out.stderr
    argv = out.stdout.split()
    assert argv[1:3] == ["-m", "llama_cpp.server"]
    assert argv[argv.index("--model") + 1] == str(bundled_gguf())
    assert argv[argv.index("--model_alias") + 1] == "chat"
    assert bundled_gguf().stat().st_size > 50_000_000


def test_a_file_name_is_looked_up_in_the_models_volume(tmp_path: Path) -> None:
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    assert resolve_gguf("mine.gguf", str(tmp_path)) == tmp_path / "mine.gguf"
    with pytest.raises(RuntimeError, match="enclave models pull"):
        resolve_gguf("missing.gguf", str(tmp_path))
