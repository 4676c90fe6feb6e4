"""The root CLI: errors are one line with exit status 2; schedule plot."""

from __future__ import annotations

import subprocess
import sys

from dlprimer import __version__
from dlprimer.cli import main


def test_version_and_unknown_command(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
    assert main(["no-such-command"]) == 2


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dlprimer", "schedule", "plot", "warp", "--out",
                           str(tmp_path / "s.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "unknown schedule 'warp'" in proc.stderr and "Traceback" not in proc.stderr


def test_schedule_plot_writes_png_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "s.png"
    assert main(["schedule", "plot", "cosine", "onecycle", "--out", str(out), "--steps", "100", "--warmup", "10"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = out.read_bytes()
    assert main(["schedule", "plot", "step", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["schedule", "plot", "step", "--out", str(out), "--overwrite"]) == 0
    assert main(["schedule", "plot", "cosine", "--steps", "0", "--out", str(tmp_path / "t.png")]) == 2
    assert "total_steps" in capsys.readouterr().err
