"""The report's reproducibility section: what was run, on what, with which versions
(``manifest.json``), and whether the CSVs are the ones the run wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tunebench.files import sha256_hex
from tunebench.report.formatting import WARNING
from tunebench.results_dir import ResultsData


def reproducibility_markdown(data: ResultsData) -> str:
    """What was run, where and with what, from ``manifest.json`` (and fidelity labels from runs.csv)."""
    manifest = data.manifest
    suite = data.suite
    items = [
        ("suite", f"`{suite.get('name', 'not recorded')}`: {suite.get('description', '')}".rstrip(": ")),
        ("seeds", _fmt_list(manifest.get("seeds", suite.get("seeds")))),
        ("budgets (epochs per run)", _fmt_mapping(manifest.get("budgets"))),
        ("fidelity (`runs.csv` `fidelity`)", _fidelity_labels(data.runs)),
        ("objective", manifest.get("objective", "not recorded")),
        ("warm-start policy", _fmt_policy(manifest.get("warm_start"))),
        ("hardware", _fmt_hardware(manifest.get("hardware"))),
        ("package versions", _fmt_mapping(manifest.get("versions"))),
        ("git commit", f"`{manifest['git_commit']}`" if manifest.get("git_commit") else "not recorded"),
        ("started / finished", f"{manifest.get('started', '?')} / {manifest.get('finished', '?')}"),
        ("wall time", _fmt_wall(manifest.get("wall_seconds"))),
        ("command", f"`{' '.join(map(str, manifest['command']))}`" if manifest.get("command") else "not recorded"),
        ("file checksums", _checksum_status(data.directory, manifest.get("files"))),
    ]
    return "\n".join(f"- **{name}**: {value}" for name, value in items)


def _fmt_list(values: Any) -> str:
    return "not recorded" if values is None else ", ".join(map(str, values)) if isinstance(values, list) else str(values)


def _fmt_mapping(mapping: Any) -> str:
    if not mapping:
        return "not recorded"
    if not isinstance(mapping, dict):
        return str(mapping)
    return ", ".join(f"{key} {value}" for key, value in mapping.items())


def _fmt_policy(policy: Any) -> str:
    """The warm-start policy: its ``description`` (older manifests hold the text itself)."""
    if isinstance(policy, dict):
        return str(policy.get("description") or _fmt_mapping(policy))
    return str(policy) if policy else "not recorded"


def _fidelity_labels(runs: pd.DataFrame) -> str:
    labels = runs.groupby("benchmark", sort=False)["fidelity"].unique()
    return "; ".join(f"{benchmark}: {' / '.join(map(str, values))}" for benchmark, values in labels.items())


def _fmt_hardware(hardware: Any) -> str:
    if not isinstance(hardware, dict) or not hardware:
        return str(hardware) if hardware else "not recorded"
    gpus = hardware.get("gpus")
    gpu_text = ("none" if not gpus else ", ".join(gpus)) if isinstance(gpus, list) else str(gpus)
    return (f"{hardware.get('cpu_model', 'unknown CPU')}, {hardware.get('cpu_count', '?')} cores, "
            f"{hardware.get('machine', '')}; GPUs: {gpu_text}")


def _fmt_wall(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "not recorded"
    return f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def _checksum_status(directory: Path, expected: Any) -> str:
    """Whether the CSVs match the sha256 sums the manifest recorded for them."""
    if not isinstance(expected, dict) or not expected:
        return "not recorded"
    verdicts = []
    for name in ("runs.csv", "trials.csv", "curves.csv"):
        if name in expected:
            actual = sha256_hex(directory / name)
            verdicts.append(f"{name} {'matches' if actual == expected[name] else WARNING + ' differs from'} the manifest")
    return "; ".join(verdicts) or "not recorded"


__all__ = ["reproducibility_markdown"]
