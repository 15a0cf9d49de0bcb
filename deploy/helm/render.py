"""Renders the Helm chart with the real Helm engine (helm-python-sdk, Helm v4) for the three value sets.

    python deploy/helm/render.py [OUT_DIR]      # default build/chart: default.yaml, production.yaml, cpu.yaml

No cluster is contacted (`helm template`, in a library). `make chart` runs this; tests/deploy/test_chart.py
calls `render` itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE / "enclave"
RELEASE = "enclave"
NAMESPACE = "enclave"
# Output name -> values file given to the chart on top of its values.yaml (None: the defaults alone).
VALUE_SETS: dict[str, Path | None] = {
    "default": None,
    "production": CHART / "values-production.yaml",
    "cpu": CHART / "values-cpu.yaml",
}


def render(values_file: Path | None = None, overrides: dict[str, Any] | None = None) -> str:
    """The rendered manifests as one multi-document YAML stream, in template order."""
    import helm_python as helm

    values: dict[str, Any] = yaml.safe_load(values_file.read_text()) if values_file else {}
    values = _merge(values or {}, overrides or {})
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = [
        f"# Source: {path}\n{text.strip()}\n"
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml") and text.strip()
    ]
    return "---\n" + "---\n".join(docs)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else Path("build/chart")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, values_file in VALUE_SETS.items():
        target = out_dir / f"{name}.yaml"
        target.write_text(render(values_file))
        kinds = sum(1 for d in yaml.safe_load_all(target.read_text()) if d)
        print(f"{target}: {kinds} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
