"""``dlprimer experiment list|run|report``: the notes' claims as experiments with measured verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dlprimer.cli._app import app

experiment_app = typer.Typer(help="The notes' claims as experiments: numbers, figures, verdicts.",
                             no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")

_DEFAULT_OUT = Path("runs") / "experiments"  # == dlprimer.experiments.runner.DEFAULT_OUT (kept import-free)
_CLAIM_WIDTH = 60


def _width(text: str) -> int:
    """Terminal columns of ``text`` (East-Asian wide characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@experiment_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
    out: Annotated[Path, typer.Option(help="folder whose results give the 'last verdict' column")] = _DEFAULT_OUT,
) -> None:
    """List the experiments: name, topic, notes section, claim, last verdict in --out."""
    from dlprimer.experiments import EXPERIMENTS
    from dlprimer.experiments.runner import load_results

    last = load_results(out) if out.is_dir() else {}
    rows = []
    for name, e in EXPERIMENTS.items():
        r = last.get(name)
        rows.append({
            "name": name, "topic": e.topic, "section": e.section, "claim_zh": e.claim_zh, "claim_en": e.claim_en,
            "criterion": e.criterion.text(), "available": e.requires is None, "requires": e.requires,
            "last_verdict": None if r is None else r.verdict, "last_mode": None if r is None else r.mode,
        })
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    # plain aligned text: one unwrapped line per experiment, whatever the terminal width
    header = {"name": "name", "topic": "topic", "section": "notes section", "claim_en": "claim",
              "verdict": "last verdict"}
    lines = []
    for row in rows:
        verdict = row["last_verdict"] or ("needs dlprimer detect" if not row["available"] else "-")
        if row["last_verdict"]:
            verdict += f" ({row['last_mode']})"
        lines.append({**row, "verdict": verdict, "claim_en": _clip(row["claim_en"], _CLAIM_WIDTH),
                      "section": _clip(row["section"], 22)})
    widths = {k: max(_width(str(r[k])) for r in [header, *lines]) for k in ("name", "topic", "section", "claim_en")}
    for r in [header, *lines]:
        print("  ".join(_pad(str(r[k]), widths[k]) for k in ("name", "topic", "section", "claim_en")) + "  "
              + r["verdict"])


def _print_result(result: object) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.name} (seed {result.seed}, {result.mode})", show_header=True)  # type: ignore[attr-defined]
    table.add_column("number")
    table.add_column("value", justify="right")
    for k, v in result.numbers.items():  # type: ignore[attr-defined]
        table.add_row(k, "nan/inf" if v is None else f"{v:.6g}")
    console.print(table)
    console.print(escape(f"criterion: {result.criterion}"))  # type: ignore[attr-defined]
    for c in result.conditions:  # type: ignore[attr-defined]
        mark = "✓" if c["holds"] else "✗"
        console.print(escape(f"  {mark} {c['number']} {c['op']} {c['threshold']:g}  {c['meaning']}"))
    colour = {"reproduced": "green", "partly": "yellow"}.get(result.verdict, "red")  # type: ignore[attr-defined]
    console.print(f"verdict: [bold {colour}]{result.verdict}[/]")  # type: ignore[attr-defined]


@experiment_app.command("run")
def run(
    names: Annotated[list[str], typer.Argument(help="experiment names (see dlprimer experiment list)")],
    quick: Annotated[bool, typer.Option(help="the small configuration (seconds)")] = False,
    seed: Annotated[int, typer.Option(help="seed of every random draw")] = 0,
    out: Annotated[Path, typer.Option(help="output folder: OUT/<name>/result.json and figures")] = _DEFAULT_OUT,
) -> None:
    """Run experiments; print the numbers, the criterion and the verdict; write OUT/<name>/result.json."""
    from rich.console import Console

    from dlprimer.experiments.runner import run_experiments

    console = Console(stderr=True)
    status = console.status("starting")
    status.start()
    try:
        results = run_experiments(names, out, seed=seed, quick=quick,
                                  on_start=lambda n: status.update(f"running {n} ({'quick' if quick else 'full'})"))
    finally:
        status.stop()
    for r in results:
        _print_result(r)
        print(f"wrote {out / r.name / 'result.json'}")


@experiment_app.command("report")
def report(
    quick: Annotated[bool, typer.Option(help="the small configuration of every experiment")] = False,
    seed: Annotated[int, typer.Option(help="seed of every random draw")] = 0,
    out: Annotated[Path, typer.Option(help="output folder (results of this seed and mode are reused)")] = _DEFAULT_OUT,
) -> None:
    """Run (or reuse) every experiment and write OUT/report.md and a self-contained OUT/report.html."""
    from rich.console import Console

    from dlprimer.experiments.report import write_report

    console = Console(stderr=True)
    status = console.status("starting")
    status.start()
    try:
        md, page = write_report(out, seed=seed, quick=quick, on_start=lambda n: status.update(f"running {n}"))
    finally:
        status.stop()
    print(f"wrote {md}")
    print(f"wrote {page}")
