"""Helpers of the CLI tests: a snapshot of a folder (to prove bad input changed nothing) and the one-line rule."""

from __future__ import annotations

from pathlib import Path

import pytest


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """``{relative path: (mode, bytes)}`` of every file and folder under ``folder`` (folders: ``b""``)."""
    out: dict[str, tuple[int, bytes]] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = (path.stat().st_mode, b"" if path.is_dir() else path.read_bytes())
    return out


def assert_one_line_error(rc: int, err: str, *fragments: str, status: int = 2) -> None:
    """Exit status ``status``, exactly one line on stderr starting ``dlprimer: error:``, every fragment in it."""
    assert rc == status, err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{err}"
    assert lines[0].startswith("dlprimer: error: "), lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(name="snapshot")
def snapshot_fixture():  # noqa: ANN201
    """The :func:`snapshot` function (fixtures are how test modules share helpers under importlib mode)."""
    return snapshot


@pytest.fixture(name="one_line_error")
def one_line_error_fixture():  # noqa: ANN201
    """The :func:`assert_one_line_error` function."""
    return assert_one_line_error
