"""What `enclave ingest` shows: rich progress bars while it works (files, bytes, then documents ready or
failed, with rates and ETAs), a table of the failed files at the end, or the same results as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text


@dataclass
class FileResult:
    """One file of the run and what became of it."""

    path: str
    size: int
    sha256: str
    # pending → uploaded → ready | failed (named `outcome`: only the lifecycle writes a document's status)
    outcome: str = "pending"
    document_id: str | None = None
    reason: str | None = None
    skipped: bool = False  # its bytes were already in the collection: not sent again

    @property
    def done(self) -> bool:
        return self.outcome in ("ready", "failed")


@dataclass
class Report:
    url: str
    collection: str
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.outcome == status)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.outcome == "failed"]

    @property
    def exit_code(self) -> int:
        return 0 if all(f.outcome == "ready" for f in self.files) else 1

    def as_dict(self) -> dict[str, Any]:
        summary = {
            "files": len(self.files),
            "ready": self.count("ready"),
            "failed": self.count("failed"),
            "pending": sum(1 for f in self.files if not f.done),
            "skipped": sum(1 for f in self.files if f.skipped),
            "uploaded": sum(1 for f in self.files if not f.skipped and f.document_id),
            "bytes": sum(f.size for f in self.files),
            "seconds": round(self.seconds, 2),
        }
        return {
            "url": self.url,
            "collection": self.collection,
            "summary": summary,
            "files": [_file_dict(f) for f in self.files],
        }


def _file_dict(f: FileResult) -> dict[str, Any]:
    raw = asdict(f)
    return {"status": raw.pop("outcome"), **raw}


class RateColumn(ProgressColumn):
    """Speed in the task's own unit: bytes as kB/s or MB/s, anything else as `n unit/s`."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("", style="progress.data.speed")
        unit = task.fields.get("unit", "")
        shown = f"{decimal(int(speed))}/s" if unit == "bytes" else f"{speed:.1f} {unit}/s"
        return Text(shown, style="progress.data.speed")


class AmountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes":
            return Text(f"{decimal(int(task.completed))}/{decimal(int(task.total or 0))}")
        return Text(f"{int(task.completed)}/{int(task.total or 0)}")


class Bars:
    """The progress bars, on stderr; with `enabled=False` (`--json`) it shows nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description:<22}"),
            BarColumn(),
            AmountColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message)

    def add(self, name: str, description: str, total: float, unit: str) -> None:
        self._tasks[name] = self.progress.add_task(description, total=total, unit=unit)

    def advance(self, name: str, amount: float = 1) -> None:
        self.progress.advance(self._tasks[name], amount)

    def set(self, name: str, completed: float, description: str | None = None) -> None:
        extra = {"description": description} if description else {}
        self.progress.update(self._tasks[name], completed=completed, **extra)


def print_report(report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    console = Console()
    s = report.as_dict()["summary"]
    console.print(
        f"{s['files']} files: [green]{s['ready']} ready[/], [red]{s['failed']} failed[/]"
        + (f", [yellow]{s['pending']} still processing[/]" if s["pending"] else "")
        + f" ({s['skipped']} already in '{report.collection}', {s['uploaded']} uploaded)"
        + f" in {s['seconds']:.1f}s"
    )
    if report.failed:
        table = Table(title="Failed files", show_lines=False)
        table.add_column("file", overflow="fold")
        table.add_column("reason", overflow="fold")
        for f in report.failed:
            table.add_row(f.path, f.reason or "unknown")
        console.print(table)
