"""``dlprimer train`` / ``evaluate`` / ``predict``: the classifier training job.

``train``'s options are generated from the fields of :class:`dlprimer.train.TrainConfig` (name, type, default
and help live there, once); this module adds only what is not a config value (``--overwrite``, ``--resume``,
``--quiet``) and the progress display, which the library receives as a callback.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from dlprimer.cli._app import app
from dlprimer.train.config import TrainConfig, option_fields


def _print_summary(summary: dict, run_dir: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"test accuracy {summary['test_accuracy']:.4f}  (macro F1 {summary['macro_f1']:.4f} = 2·P̄·R̄/(P̄+R̄))"
    if summary.get("best_epoch") is not None:
        title += f"  from the best epoch {summary['best_epoch']} ({summary['monitor']})"
    table = Table(title=title)
    for col in ("class", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="right")
    for k, row in summary["per_class"].items():
        table.add_row(k, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row["support"]))
    console.print(table)
    if run_dir is not None:
        console.print(f"run folder: {run_dir}")


class ProgressBars:
    """Rich progress bars (epoch and batch) with loss / accuracy / lr: a :class:`dlprimer.train.callbacks.Callback`."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn())
        self.started = False

    def on_start(self, info: dict[str, Any]) -> None:
        self.steps = info["steps"]
        self.epochs_task = self.progress.add_task("epochs", total=info["epochs"],
                                                  completed=info["first_epoch"] - 1, info="")
        self.batch_task = self.progress.add_task("batches", total=self.steps, info="")
        self.progress.start()
        self.started = True

    def on_batch(self, index: int, loss: float) -> None:
        self.progress.update(self.batch_task, completed=index + 1, info=f"loss {loss:.4f}")

    def on_epoch(self, row: dict[str, Any]) -> None:
        if "val_loss" in row:  # classification: loss / accuracy
            acc = row.get("train_accuracy", float("nan"))
            line = (f"epoch {row['epoch']:>3}  train {row['train_loss']:.4f} / {acc:.4f}  "
                    f"val {row['val_loss']:.4f} / {row.get('val_accuracy', float('nan')):.4f}  lr {row['lr']:.2e}  "
                    f"{row['time_s']:.1f}s")
            info = f"val acc {row.get('val_accuracy', 0):.4f}"
        else:  # detection: the loss parts, and validation mAP on the evaluated epochs
            parts = "  ".join(f"{k[6:]} {v:.4f}" for k, v in row.items() if k.startswith("train_"))
            val = "  ".join(f"{k} {row[k]:.4f}" for k in ("val_AP", "val_AP50") if k in row)
            line = f"epoch {row['epoch']:>3}  {parts}  {val}  lr {row['lr']:.2e}  {row['time_s']:.1f}s"
            info = f"val AP {row['val_AP']:.4f}" if "val_AP" in row else ""
        self.progress.console.print(line)
        self.progress.update(self.epochs_task, advance=1, info=info)
        self.progress.reset(self.batch_task, total=self.steps)

    def on_close(self) -> None:
        if self.started:
            self.progress.stop()

    def on_end(self, summary: dict[str, Any]) -> None:
        pass


def _option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _train(**kwargs: Any) -> None:
    """Train a classifier (the embedded digits, or --data DIR) and write a run folder OUT/NAME
    (config, metrics, checkpoint, summary, plots). --resume RUN_DIR finishes a run; with --epochs it extends it."""
    from dlprimer.train import distributed
    from dlprimer.train import engine as train_engine

    if handed_over(kwargs, ("train",)):
        return
    overwrite = kwargs.pop("overwrite")
    resume = kwargs.pop("resume")
    quiet = kwargs.pop("quiet")
    given = {k: v for k, v in kwargs.items() if v is not None}
    callbacks = [] if quiet else [ProgressBars()]
    with distributed.session(given.get("device", "auto")):
        main = distributed.is_main()
        result = fit_or_resume(train_engine, given, overwrite, resume, callbacks if main else [])
    if main:
        _print_summary(result.summary, result.run_dir)


def handed_over(kwargs: dict[str, Any], command: tuple[str, ...]) -> bool:
    """Pop ``nproc_per_node`` from ``kwargs``; when it is given, check it (and the global batch) and hand the run
    over to torchrun (:func:`hand_over_to_torchrun`), returning True."""
    from dlprimer.train import distributed

    nproc = kwargs.pop("nproc_per_node")
    if nproc is None:
        return False
    from dlprimer._checks import check_int

    nproc = check_int(nproc, "nproc_per_node", low=1)
    if kwargs.get("batch_size") is not None:  # checked here too: one line instead of torchrun's failure report
        distributed.check_global_batch(kwargs["batch_size"], nproc)
    hand_over_to_torchrun(nproc, command)
    return True


def hand_over_to_torchrun(nproc: int, command: tuple[str, ...] = ("train",)) -> None:
    """``dlprimer COMMAND --nproc-per-node N ...`` = ``torchrun --standalone --nproc-per-node N -m dlprimer COMMAND
    ...`` (the same arguments without ``--nproc-per-node``; ``COMMAND`` is ``train`` or ``detect train``); exits with
    torchrun's status."""
    import os
    import subprocess
    import sys

    if "RANK" in os.environ:
        raise ValueError("--nproc-per-node is for starting a run; this process was already started by torchrun")
    args, skip = [], False
    argv = sys.argv[1:]
    n = len(command)
    start = next((i + n for i in range(len(argv)) if tuple(argv[i:i + n]) == command), 0)
    for arg in argv[start:]:
        if skip:
            skip = False
        elif arg == "--nproc-per-node":
            skip = True
        elif not arg.startswith("--nproc-per-node="):
            args.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "dlprimer", *command, *args]
    code = subprocess.call(cmd)
    if code:
        raise typer.Exit(code)


def fit_or_resume(train_engine: Any, given: dict[str, Any], overwrite: bool, resume: Path | None,
                   callbacks: list[Any], config_class: type = TrainConfig) -> Any:
    if resume is not None:
        other = sorted(_option_name(k) for k in given if k != "epochs")
        if other or overwrite:
            names = ", ".join(other + (["--overwrite"] if overwrite else []))
            raise ValueError(f"--resume continues a run with its saved config.json; only --epochs may be given "
                             f"with it, not {names}")
        kind = getattr(config_class, "kind", "classification")
        return train_engine.resume(resume, epochs=given.get("epochs"), callbacks=callbacks, kind=kind)
    return train_engine.fit(config_class(**given), overwrite=overwrite, callbacks=callbacks)


def config_parameters(cls: type = TrainConfig) -> list[inspect.Parameter]:
    """One typer option per field of config class ``cls`` (:class:`TrainConfig`, ``DetectConfig``; default shown
    from the dataclass, ``None`` = not given)."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in option_fields(cls):
        hint = hints[f.name]
        base = hint
        if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            base = args[0]
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = "" if default in (None, "") else str(default).lower() if isinstance(default, bool) else str(default)
        option = typer.Option(_option_name(f.name), help=f.metadata.get("help", ""),
                              show_default=shown or False)
        if base is bool:
            option = typer.Option(f"{_option_name(f.name)}/--no-{f.name.replace('_', '-')}",
                                  help=f.metadata.get("help", ""), show_default=shown or False)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[base | None, option]))
    return params


def overwrite_parameter(help: str) -> inspect.Parameter:  # noqa: A002
    return inspect.Parameter("overwrite", inspect.Parameter.KEYWORD_ONLY, default=False,
                             annotation=Annotated[bool, typer.Option("--overwrite", help=help)])


def quiet_parameter() -> inspect.Parameter:
    return inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False,
                             annotation=Annotated[bool, typer.Option("--quiet", help="no progress bars")])


def with_signature(func: Any, params: list[inspect.Parameter]) -> Any:
    """Give ``func(**kwargs)`` the typer signature ``params``."""
    func.__signature__ = inspect.Signature(params)
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func


def run_parameters() -> list[inspect.Parameter]:
    """The options of a training command that are not config values: ``--overwrite``, ``--resume``, ``--quiet``,
    ``--nproc-per-node`` (shared by ``train`` and ``detect train``)."""
    return [
        overwrite_parameter("replace an earlier dlprimer run folder of the same name (only a run folder; only "
                            "once the new run has started)"),
        inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Path | None, typer.Option("--resume", help="finish the run in this run folder (with --epochs N: "
                                                       "extend it to N epochs)")]),
        quiet_parameter(),
        nproc_parameter(),
    ]


def _build_train_signature() -> list[inspect.Parameter]:
    return [*config_parameters(), *run_parameters()]


def nproc_parameter() -> inspect.Parameter:
    return inspect.Parameter("nproc_per_node", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        int | None, typer.Option("--nproc-per-node", help="train in N processes on this machine: hands over to "
                                 "torchrun (torch.distributed.run) with the other arguments; --batch-size is the "
                                 "global batch")])


train = app.command(name="train")(with_signature(_train, _build_train_signature()))


@app.command()
def evaluate(
    run_dirs: Annotated[list[Path], typer.Argument(help="run folders written by dlprimer train")],
    ensemble: Annotated[bool, typer.Option("--ensemble", help="average the runs' probabilities (same data and "
                                                             "seed): each member's and the ensemble's accuracy")]
    = False,
) -> None:
    """Recompute the test metrics of runs from their checkpoints (best.pt when present), or of their ensemble."""
    from dlprimer.train.engine import evaluate_run

    if not ensemble:
        for run_dir in run_dirs:
            _print_summary(evaluate_run(run_dir), run_dir)
        return
    from dlprimer.train.validation import evaluate_ensemble

    result = evaluate_ensemble(run_dirs)
    for member in result["members"]:
        print(f"{member['run']}: test accuracy {member['test_accuracy']:.4f}")
    print(f"ensemble of {len(run_dirs)}: test accuracy {result['ensemble_accuracy']:.4f}")


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a run folder written by dlprimer train")],
    images: Annotated[list[Path], typer.Argument(help="image files (PNG, JPEG, BMP, GIF, WebP, TIFF)")],
    top_k: Annotated[int, typer.Option("--top-k", help="how many classes to print")] = 3,
) -> None:
    """Print the top-k classes of image files with the run's model."""
    from dlprimer.train.engine import predict_images

    for path, ranked in zip(images, predict_images(run_dir, images, top_k=top_k), strict=True):
        print(f"{path}: " + ", ".join(f"{k} ({p:.3f})" for k, p in ranked))
