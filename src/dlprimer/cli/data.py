"""CLI commands for the embedded data (registered on the root app on import): ``dlprimer data scenes export``."""

from __future__ import annotations

from pathlib import Path

import typer

from dlprimer.cli._app import app

data_app = typer.Typer(help="Embedded datasets.", no_args_is_help=True)
scenes_app = typer.Typer(help="Digit scenes for detection (dlprimer.data.scenes).", no_args_is_help=True)
app.add_typer(data_app, name="data")
data_app.add_typer(scenes_app, name="scenes")


@scenes_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Folder to write (COCO layout: images/<split>/, annotations/)."),
    seed: int = typer.Option(0, "--seed", help="Scene seed (the default equals `detect train`'s scenes)."),
    image_size: int = typer.Option(128, "--image-size", help="Canvas side in pixels."),
    n_train: int = typer.Option(4000, "--n-train", help="Training scenes."),
    n_val: int = typer.Option(500, "--n-val", help="Validation scenes."),
    n_test: int = typer.Option(1000, "--n-test", help="Test scenes."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an existing non-empty folder."),
) -> None:
    """Write the scenes as COCO: DIR/images/{train,val,test}/*.png and DIR/annotations/instances_*.json."""
    from dlprimer.data.scenes import SceneConfig, export_scenes

    config = SceneConfig(seed=seed, image_size=image_size, n_train=n_train, n_val=n_val, n_test=n_test)
    counts = export_scenes(out, config, overwrite=overwrite)
    print(f"wrote {out}: " + ", ".join(f"{n} {split}" for split, n in counts.items()) + " images")
