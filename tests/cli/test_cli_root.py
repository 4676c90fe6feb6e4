"""The root CLI: ``--help`` order, ``--version``, the one error boundary (input errors vs bugs) and ``--debug``."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys

import pytest
import torch

from dlprimer import __version__
from dlprimer.cli import input_error_message, main
from dlprimer.cli._app import GROUPS, MAIN_JOBS


def _listed_commands(text: str) -> list[str]:
    """Command names in the order ``--help`` prints them (rich boxes or plain click)."""
    names = []
    for line in text.splitlines():
        m = re.match(r"^[│ ]\s+([a-z][a-z0-9-]*)\s{2,}\S", line)
        if m:
            names.append(m.group(1))
    return names


def test_help_lists_main_jobs_first_then_groups_then_version(capsys):
    assert main(["--help"]) == 0
    listed = _listed_commands(capsys.readouterr().out)
    jobs = [n for n in MAIN_JOBS if n in listed]
    groups = [n for n in GROUPS if n in listed]
    assert jobs[:6] == ["train", "evaluate", "predict", "export", "profile", "coco-eval"]
    assert {"models", "schedules", "augment", "boxes"} <= set(groups)
    assert listed[: len(jobs)] == jobs  # the main jobs come first, in this order
    assert listed[len(jobs) : len(jobs) + len(groups)] == groups
    assert listed[-1] == "version"
    assert "schedule" not in listed  # the old name is a hidden alias


@pytest.mark.parametrize(
    ("group", "commands"),
    [("models", ["list"]), ("schedules", ["list", "plot"]), ("augment", ["list", "preview"]),
     ("boxes", ["assign-plot"]), ("inits", ["list"])],
)
def test_every_group_help_lists_its_commands(group, commands, capsys):
    assert main([group, "--help"]) == 0
    assert _listed_commands(capsys.readouterr().out) == commands
    assert main([group]) == 0  # a bare group prints the same help
    assert _listed_commands(capsys.readouterr().out) == commands


def test_version_command_and_flag(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_usage_errors_are_one_line(capsys, one_line_error):
    one_line_error(main(["no-such-command"]), capsys.readouterr().err, "no-such-command")
    one_line_error(main(["profile", "lenet5", "--nope"]), capsys.readouterr().err, "--nope", "dlprimer profile --help")
    one_line_error(main(["augment", "preview", "--out", "x.png", "--n", "many"]), capsys.readouterr().err, "--n")


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dlprimer", "schedules", "plot", "warp", "--out",
                           str(tmp_path / "s.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "unknown schedule 'warp'" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------- the error boundary
def _bug(*args, **kwargs):
    return {}["engine"]  # a KeyError: a bug, not an input error


def test_a_bug_is_one_line_exit_1_with_the_debug_hint(monkeypatch, capsys):
    monkeypatch.setattr("dlprimer.cli.models.model_names", _bug)
    monkeypatch.delenv("DLPRIMER_DEBUG", raising=False)
    assert main(["models", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("dlprimer: internal error (a bug in dlprimer): KeyError: 'engine'")
    assert "--debug" in err


def test_debug_flag_and_env_show_the_traceback(monkeypatch):
    monkeypatch.setattr("dlprimer.cli.models.model_names", _bug)
    monkeypatch.delenv("DLPRIMER_DEBUG", raising=False)
    with pytest.raises(KeyError):
        main(["--debug", "models", "list"])
    with pytest.raises(KeyError):
        main(["models", "list", "--debug"])  # anywhere on the line
    monkeypatch.setenv("DLPRIMER_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["models", "list"])
    monkeypatch.setenv("DLPRIMER_DEBUG", "0")
    assert main(["models", "list"]) == 1


def test_debug_shows_input_errors_too(monkeypatch, tmp_path):
    monkeypatch.delenv("DLPRIMER_DEBUG", raising=False)
    with pytest.raises(ValueError, match="unknown schedule"):
        main(["--debug", "schedules", "plot", "warp", "--out", str(tmp_path / "s.png")])


def test_debug_in_a_subprocess_prints_the_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dlprimer", "--debug", "schedules", "plot", "warp", "--out",
                           str(tmp_path / "s.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "unknown schedule 'warp'" in proc.stderr


def _raised(fn):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("expected an exception")


def _load_bad_state_dict():
    torch.nn.Linear(2, 3).load_state_dict({"weight": torch.zeros(4, 2)})


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: json.loads("[" * 200_000), "nested too deeply"),
        (lambda: b"\xff\xfe".decode("utf-8"), "not UTF-8 text"),
        (lambda: json.loads("{"), "Expecting property name"),
        (lambda: open("/definitely/not/here.json"), "No such file or directory: /definitely/not/here.json"),
        (lambda: (_ for _ in ()).throw(MemoryError()), "not enough memory"),
        (_load_bad_state_dict, "the checkpoint does not fit the model"),
        (lambda: torch.empty(3, 10**9, 10**9, device="meta").to("cpu"), "too large to allocate"),
        (lambda: pickle.loads(b"\x80\x05garbage"), "pickle data"),
        (lambda: (_ for _ in ()).throw(FloatingPointError("training diverged at epoch 3")), "diverged"),
    ],
)
def test_input_errors_are_recognised(make, fragment):
    message = input_error_message(_raised(make))
    assert message is not None and fragment in message and "\n" not in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: {}["model"],
        lambda: 1 / 0,
        lambda: torch.zeros(2, 3) @ torch.zeros(2, 3),  # a shape bug inside the code: RuntimeError
        lambda: [][1],
        lambda: (_ for _ in ()).throw(RecursionError("maximum recursion depth exceeded")),
        lambda: (_ for _ in ()).throw(AssertionError("invariant")),
    ],
)
def test_bugs_are_not_input_errors(make):
    assert input_error_message(_raised(make)) is None
