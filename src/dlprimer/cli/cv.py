"""``dlprimer cv --folds K [train options]``: stratified k-fold cross-validation, one run folder per fold."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer

from dlprimer.cli._app import app
from dlprimer.cli.train import ProgressBars, config_parameters, overwrite_parameter, quiet_parameter, with_signature
from dlprimer.train.config import TrainConfig


def _cv(**kwargs: Any) -> None:
    """Stratified k-fold cross-validation: the train and val splits are pooled and cut into K folds; run i
    (OUT/NAME-fold<i>) validates on fold i; prints mean ± std of the validation and test accuracy."""
    from rich.console import Console
    from rich.table import Table

    from dlprimer.train.validation import cross_validate

    folds = kwargs.pop("folds")
    overwrite = kwargs.pop("overwrite")
    quiet = kwargs.pop("quiet")
    config = TrainConfig(**{k: v for k, v in kwargs.items() if v is not None})
    result = cross_validate(config, folds, overwrite=overwrite, callbacks=[] if quiet else [ProgressBars()])
    table = Table(title=f"{folds}-fold cross-validation of {config.model}")
    for col in ("fold", "val accuracy", "test accuracy", "run folder"):
        table.add_column(col, justify="right")
    for i, (v, t, r) in enumerate(zip(result.val_accuracy, result.test_accuracy, result.runs, strict=True)):
        table.add_row(str(i), f"{v:.4f}", f"{t:.4f}", str(r.run_dir))
    stats = result.table()
    table.add_row("mean ± std", f"{stats['val_accuracy']['mean']:.4f} ± {stats['val_accuracy']['std']:.4f}",
                  f"{stats['test_accuracy']['mean']:.4f} ± {stats['test_accuracy']['std']:.4f}", "")
    Console().print(table)


_params = [
    inspect.Parameter("folds", inspect.Parameter.KEYWORD_ONLY, default=5, annotation=Annotated[
        int, typer.Option("--folds", help="number of stratified folds (K >= 2)")]),
    *[p for p in config_parameters() if p.name != "name"],
    inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        str | None, typer.Option("--name", help="run folders are NAME-fold0 ... NAME-fold<K-1>")]),
    overwrite_parameter("replace earlier dlprimer run folders of the same names"),
    quiet_parameter(),
]
cv = app.command(name="cv")(with_signature(_cv, _params))
