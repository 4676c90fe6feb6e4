"""Every example of README.md and docs/*.md runs as written (issue #15, item 5).

Each ```bash (``sh``, ``shell``, ``console``) and ```python (``py``) block is extracted and run, in order, per file:

* **Python** blocks run in one namespace per file (a later block sees an earlier block's names).
* **Shell** blocks run with ``bash -e`` and every ``dlprimer`` command is run as ``{sys.executable} -m dlprimer``
  (this checkout's ``src`` first on ``PYTHONPATH``). Only ``dlprimer`` commands (and the harmless ``ls``,
  ``cat``, ``head``, ``echo``, ``mkdir``) may run: anything else — installs, the test command, benchmarks,
  ``torchrun`` on several machines — must be marked as skipped.
* Both run in one temporary folder per file, which starts with a few demo inputs the examples name:
  ``GT.json``/``DT.json`` and ``instances_val.json``/``detections.json`` (a synthetic COCO set and its
  detections, :func:`dlprimer.metrics.coco.synthetic.make_coco`), ``img1.png``/``img2.png`` (two digits) and
  ``images/`` (three small RGB PNGs).

Markers, HTML comments right before a block (blank lines and other comments between them are allowed):

* ``<!-- doc: skip REASON -->`` skips the block; the reason is required.
* ``<!-- doc: sub "A" "B" -->`` replaces the text ``A`` by ``B`` before running (repeatable; single quotes work
  too; ``\\n`` is a newline). A substitution whose ``A`` is not in the block fails the test, so a stale marker
  cannot hide a changed example. Use it to shorten long jobs (``--epochs 30`` → ``--epochs 1``).

A block that is neither runnable nor skipped, a malformed marker, or a failing example fails the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
PYTHON = {"python", "py", "python3"}
#: commands a shell block may run besides dlprimer
HARMLESS = {"ls", "cat", "head", "tail", "echo", "mkdir", "cd"}
BLOCK_TIMEOUT_S = 240

_FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)\s*$")
_COMMENT = re.compile(r"^\s*<!--(.*?)-->\s*$")
_QUOTED = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
_SUB = re.compile(rf"^sub\s+{_QUOTED}\s+{_QUOTED}$")


@dataclass
class Block:
    """One fenced code block and the markers before it."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None = None
    subs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def kind(self) -> str | None:
        return "shell" if self.lang in SHELL else "python" if self.lang in PYTHON else None


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_markdown(path: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of a Markdown file with their ``doc:`` markers; ``ValueError`` for a malformed marker."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    skip: str | None = None
    subs: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        comment = _COMMENT.match(line)
        if fence:
            indent, ticks, lang = fence.groups()
            body = []
            j = i + 1
            while j < len(lines) and not re.match(rf"^\s*{ticks}\s*$", lines[j]):
                body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                raise ValueError(f"{path.name}:{i + 1}: code block is never closed")
            blocks.append(Block(path, i + 1, lang.lower(), "\n".join(body) + "\n", skip, subs))
            skip, subs = None, []
            i = j + 1
            continue
        if comment:
            content = comment.group(1).strip()
            if content.startswith("doc:"):
                directive = content[len("doc:"):].strip()
                if directive == "skip" or directive.startswith("skip "):
                    reason = directive[len("skip"):].strip()
                    if not reason:
                        raise ValueError(f"{path.name}:{i + 1}: '<!-- doc: skip -->' needs a reason after 'skip'")
                    skip = reason
                elif (m := _SUB.match(directive)) is not None:
                    subs.append((_unquote(m.group(1)), _unquote(m.group(2))))
                else:
                    raise ValueError(f"{path.name}:{i + 1}: unknown doc marker {content!r} (use 'skip REASON' or "
                                     "'sub \"A\" \"B\"')")
        elif line.strip() and (skip is not None or subs):
            raise ValueError(f"{path.name}:{i + 1}: a doc marker must come right before a code block")
        i += 1
    return blocks


def runnable(blocks: list[Block]) -> list[Block]:
    """The blocks to run; ``ValueError`` for a code block in a language that is neither run nor skipped."""
    out = []
    for block in blocks:
        if block.skip is not None:
            continue
        if block.kind is None:
            if block.lang in ("", "text", "json", "markdown", "md", "toml", "yaml", "ini", "diff"):
                continue  # not code to run (output, file formats, trees)
            raise ValueError(f"{block.where}: a ```{block.lang} block can neither run nor is it marked "
                             "<!-- doc: skip REASON -->")
        out.append(block)
    return out


def substituted(block: Block) -> str:
    code = block.code
    for old, new in block.subs:
        if old not in code:
            raise ValueError(f"{block.where}: doc marker sub {old!r} does not occur in the block")
        code = code.replace(old, new)
    return code


_DLPRIMER = re.compile(r"(^|[;&|(]\s*|\$\(\s*)dlprimer(?=\s|$)", re.MULTILINE)


def shell_script(block: Block, code: str) -> str:
    """The block as a bash script: ``dlprimer`` → ``{sys.executable} -m dlprimer``; other commands refused."""
    for raw in code.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for command in re.split(r"&&|\|\||;|\|", line):
            words = command.split()
            if words and words[0] not in HARMLESS | {"dlprimer"}:
                raise ValueError(f"{block.where}: shell command {words[0]!r} is not a dlprimer command; mark the "
                                 "block <!-- doc: skip REASON --> (installs, tests, benchmarks, several machines)")
    return "set -euo pipefail\n" + _DLPRIMER.sub(lambda m: f"{m.group(1)}{sys.executable} -m dlprimer", code)


def make_demo_inputs(folder: Path) -> None:
    """The demo inputs the examples name (see the module docstring)."""
    import matplotlib.image as mpimg
    from sklearn.datasets import load_digits

    from dlprimer.metrics.coco.synthetic import make_coco

    gt, dt = make_coco(0, n_images=8, n_categories=3)
    for gt_name, dt_name in (("GT.json", "DT.json"), ("instances_val.json", "detections.json")):
        (folder / gt_name).write_text(json.dumps(gt))
        (folder / dt_name).write_text(json.dumps(dt))
    digits = load_digits()
    for k, index in enumerate((0, 1), start=1):
        mpimg.imsave(folder / f"img{k}.png", digits.images[index] / 16.0, cmap="gray")
    (folder / "images").mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        mpimg.imsave(folder / "images" / f"{k}.png", rng.random((40 + 8 * k, 56, 3)))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("DLPRIMER_DEBUG", None)
    return env


def run_file(path: Path, folder: Path) -> list[str]:
    """Run every runnable block of ``path`` in ``folder``; return one line per block run."""
    blocks = runnable(parse_markdown(path))
    make_demo_inputs(folder)
    namespace: dict[str, object] = {"__name__": f"doc:{path.name}"}
    done = []
    for block in blocks:
        code = substituted(block)
        if block.kind == "python":
            exec(compile(code, block.where, "exec"), namespace)  # noqa: S102 - the documentation's own examples
        else:
            proc = subprocess.run(["bash", "-c", shell_script(block, code)], cwd=folder, env=_env(),
                                  capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
            if proc.returncode != 0:
                raise AssertionError(f"{block.where}: exit status {proc.returncode}\n{code}\n"
                                     f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
        done.append(block.where)
    return done


# ------------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_every_example_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DLPRIMER_DEBUG", raising=False)
    run_file(path, tmp_path)


def test_docs_link_only_inside_the_repository() -> None:
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        assert "shared/" not in text, f"{path.name} points to shared/, which is not in the repository"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"^[a-z]+://", target):
                continue  # web links are allowed
            assert (path.parent / target).exists(), f"{path.name}: link to {target!r}, which does not exist"


def test_package_docstring_links_exist() -> None:
    import dlprimer

    doc = dlprimer.__doc__ or ""
    assert "shared/" not in doc
    for target in re.findall(r"``(docs/[\w./-]+)``", doc):
        assert (ROOT / target).exists(), target


# --------------------------------------------------------------------------- the harness itself
_SAMPLE = """intro
<!-- doc: skip installs -->
<!-- test-command -->
```bash
pip install x
```

<!-- doc: sub "--epochs 30" "--epochs 1" -->
<!-- doc: sub 'ls runs' 'ls -a\\nls runs' -->

```bash
dlprimer train --epochs 30 && ls runs  # a comment
```
```text
output, not run
```
```python
x = 1
```
"""


def test_parser_reads_markers(tmp_path: Path) -> None:
    blocks = parse_markdown(tmp_path / "x.md", _SAMPLE)
    assert [(b.lang, b.skip, b.subs) for b in blocks] == [
        ("bash", "installs", []),
        ("bash", None, [("--epochs 30", "--epochs 1"), ("ls runs", "ls -a\nls runs")]),
        ("text", None, []),
        ("python", None, []),
    ]
    run = runnable(blocks)
    assert [b.line for b in run] == [11, 17]
    script = shell_script(run[0], substituted(run[0]))
    assert f"{sys.executable} -m dlprimer train --epochs 1 && ls -a\nls runs" in script


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<!-- doc: skip -->\n```bash\nx\n```\n", "needs a reason"),
        ("<!-- doc: run -->\n```bash\nx\n```\n", "unknown doc marker"),
        ("<!-- doc: skip old -->\nsome prose\n```bash\nx\n```\n", "right before a code block"),
        ("```python\nx = 1\n", "never closed"),
    ],
)
def test_parser_rejects_bad_markers(text: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match):
        parse_markdown(tmp_path / "x.md", text)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("```bash\npip install -e .\n```\n", "'pip' is not a dlprimer command"),
        ("```bash\npython -m pytest\n```\n", "'python' is not a dlprimer command"),
        ("```bash\ndlprimer profile x && ruff check src\n```\n", "'ruff' is not a dlprimer command"),
        ("```cpp\nint main() {}\n```\n", "neither run nor is it marked"),
        ('<!-- doc: sub "--epochs 9" "--epochs 1" -->\n```bash\ndlprimer train --epochs 5\n```\n', "does not occur"),
    ],
)
def test_unmarked_or_stale_blocks_fail(text: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match):
        for block in runnable(parse_markdown(tmp_path / "x.md", text)):
            shell_script(block, substituted(block))


def test_a_failing_example_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text("```bash\ndlprimer schedules plot warp --out s.png\n```\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(AssertionError, match="bad.md:1: exit status 2"):
        run_file(doc, work)
    doc.write_text("```python\nassert 1 + 1 == 3\n```\n")
    work2 = tmp_path / "work2"
    work2.mkdir()
    with pytest.raises(AssertionError):
        run_file(doc, work2)
