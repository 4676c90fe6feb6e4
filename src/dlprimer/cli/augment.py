"""``dlprimer augment list|preview``: the augmentation names, and a grid of originals next to augmented copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dlprimer._io import prepare_output
from dlprimer.cli._app import app
from dlprimer.cli._names import augmentation_names

augment_app = typer.Typer(help="Box-aware data augmentation (notes: 数据增强方式 1-11).", no_args_is_help=True)
app.add_typer(augment_app, name="augment")

DEFAULT_OPS = "scale,crop,hflip,rotate,color,erase"
#: most images one grid draws
MAX_IMAGES = 64


@augment_app.command("list")
def list_command() -> None:
    """Print the registered augmentation names, one per line (use them with `augment preview --ops`)."""
    for name in augmentation_names():
        print(name)


@augment_app.command()
def preview(
    out: Annotated[Path, typer.Option("--out", help="Image file to write (.png, .jpg, .pdf, .svg).")],
    ops: Annotated[
        list[str],
        typer.Option("--ops", help="Augmentations, comma-separated or repeated (names: `dlprimer augment list`)."),
    ] = [DEFAULT_OPS],  # noqa: B006 - typer reads the default, never mutates it
    n: Annotated[int, typer.Option("--n", help=f"Number of images (1-{MAX_IMAGES}).")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same grid).")] = 0,
    images: Annotated[
        Path | None, typer.Option("--images", help="Folder of PNG/JPEG images to use instead of the digit scenes.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Draw originals and augmented versions side by side, boxes included."""
    from dlprimer.augment.preview import DigitScenes, FolderImages, preview_samples, save_preview_grid

    names = [name.strip().lower() for item in ops for name in item.split(",") if name.strip()]
    known = augmentation_names()
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(f"--ops: unknown augmentation(s) {unknown or names}; known: {', '.join(known)}")
    if not 1 <= n <= MAX_IMAGES:
        raise ValueError(f"--n must be between 1 and {MAX_IMAGES}, got {n}")
    prepare_output(out, overwrite=overwrite)
    if images is not None:
        dataset = _NamedDecodeErrors(FolderImages(images))
    else:
        dataset = DigitScenes(n=max(2 * n, 16), seed=seed)
    pairs = preview_samples(names, n=n, seed=seed, dataset=dataset)
    save_preview_grid(pairs, out, title=f"ops: {', '.join(names)}  (seed {seed})")
    print(f"wrote {out} ({n} images; ops: {', '.join(names)})")


class _NamedDecodeErrors:
    """Wraps the folder dataset so that an image that fails to decode is one ``ValueError`` naming the file.

    The decoders (Pillow through matplotlib) raise ``SyntaxError`` for a file that is not a PNG, ``OSError``
    for a truncated one and ``DecompressionBombError`` for one with too many pixels.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.paths = dataset.paths

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        from PIL import Image

        try:
            return self.dataset[i]
        except (SyntaxError, OSError, ValueError, Image.DecompressionBombError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"--images: cannot read {str(self.paths[i])!r} as an image ({reason})") from None
