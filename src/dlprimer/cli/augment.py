"""CLI commands for augment (registered on the root app on import): ``dlprimer augment preview``."""

from __future__ import annotations

from pathlib import Path

import typer

from dlprimer.cli._app import app

augment_app = typer.Typer(help="Box-aware data augmentation (notes: 数据增强方式 1-11).", no_args_is_help=True)
app.add_typer(augment_app, name="augment")

DEFAULT_OPS = "scale,crop,hflip,rotate,color,erase"


@augment_app.command()
def preview(
    out: Path = typer.Option(..., "--out", help="Output image (.png, .jpg, .pdf, .svg)."),
    ops: list[str] = typer.Option(
        [DEFAULT_OPS], "--ops", help="Augmentations, comma-separated or repeated (see `--list`)."
    ),
    n: int = typer.Option(8, "--n", help="Number of images (1-64)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same grid)."),
    images: Path | None = typer.Option(None, "--images", help="Folder of PNG/JPEG images instead of digits."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
) -> None:
    """Draw originals and augmented versions side by side, boxes included."""
    from dlprimer.augment.preview import DigitScenes, FolderImages, preview_samples, save_preview_grid
    from dlprimer.augment.registry import list_augmentations

    names = [name.strip().lower() for item in ops for name in item.split(",") if name.strip()]
    known = list_augmentations()
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(f"--ops: unknown augmentation(s) {unknown or names}; known: {', '.join(known)}")
    if not 1 <= n <= 64:
        raise ValueError(f"--n must be between 1 and 64, got {n}")
    if out.exists() and not overwrite:
        raise ValueError(f"--out {str(out)!r} exists; pass --overwrite to replace it")
    if not out.parent.exists():
        raise ValueError(f"--out folder {str(out.parent)!r} does not exist")
    dataset = FolderImages(images) if images is not None else DigitScenes(n=max(2 * n, 16), seed=seed)
    pairs = preview_samples(names, n=n, seed=seed, dataset=dataset)
    save_preview_grid(pairs, out, title=f"ops: {', '.join(names)}  (seed {seed})")
    print(f"wrote {out} ({n} images; ops: {', '.join(names)})")
