"""Output folders (no mixing of seeds or modes), the report, and ``dlprimer experiment``."""

from __future__ import annotations

import base64
import json

import pytest

from dlprimer._registry import Registry
from dlprimer.cli import main
from dlprimer.experiments import EXPERIMENTS, get_experiment, report
from dlprimer.experiments.base import Condition, Criterion, Experiment, Measurement
from dlprimer.experiments.runner import check_out_folder, load_results, run_experiments

FAST = "softmax-overflow"  # a quick experiment (well under a second)


def test_unknown_name_lists_known_names(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment 'nope'; known experiments: ") as info:
        run_experiments(["nope"], tmp_path)
    assert all(n in str(info.value) for n in EXPERIMENTS.names())
    assert "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())  # nothing written
    with pytest.raises(ValueError, match="unknown experiment"):
        get_experiment("Zero init")


def test_folder_of_another_seed_or_mode_is_refused(tmp_path):
    run_experiments([FAST], tmp_path, seed=0, quick=True)
    before = (tmp_path / FAST / "result.json").read_bytes()
    with pytest.raises(ValueError, match="holds results of seed 0, quick mode .*seed 1, quick mode"):
        run_experiments([FAST], tmp_path, seed=1, quick=True)
    with pytest.raises(ValueError, match="holds results of seed 0, quick mode .*seed 0, full mode"):
        run_experiments(["he-is-xavier-times-two"], tmp_path, seed=0, quick=False)
    with pytest.raises(ValueError, match="holds results of seed 0, quick mode"):
        report.write_report(tmp_path, seed=2, quick=True)
    assert (tmp_path / FAST / "result.json").read_bytes() == before  # nothing overwritten
    assert not (tmp_path / "he-is-xavier-times-two").exists()
    run_experiments([FAST], tmp_path, seed=0, quick=True)  # the same seed and mode: replaced in place
    assert set(load_results(tmp_path)) == {FAST}


def test_out_must_not_be_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        check_out_folder(f, 0, True)


def test_corrupt_result_is_reported(tmp_path):
    (tmp_path / FAST).mkdir()
    (tmp_path / FAST / "result.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable result file"):
        run_experiments([FAST], tmp_path, quick=True)


def _toy(name: str, value: float, requires: str | None = None) -> Experiment:
    def measure(seed: int, quick: bool) -> Measurement:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(3, 2))
        fig.add_subplot().plot([0, 1], [value, seed])
        return Measurement({"x": value, "time_s": 0.5}, {"plot": fig})

    return Experiment(name=name, topic="toy", section="池化层", claim_zh="池化层的作用", claim_en="toy claim",
                      setup="one line\nsecond line", criterion=Criterion((Condition("x", ">", 1.0, "x is big"),)),
                      measure=measure, requires=requires)


def test_report_sections_figures_reuse_and_disagreement(tmp_path, monkeypatch):
    toys = Registry("experiment")
    for e in (_toy("toy-yes", 2.0), _toy("toy-no", 0.5), _toy("toy-missing", 0.0, requires="needs dlprimer detect")):
        toys.add(e.name, e)
    monkeypatch.setattr(report, "EXPERIMENTS", toys)
    ran: list[str] = []
    md, page = report.write_report(tmp_path, seed=0, quick=True, on_start=ran.append)
    assert sorted(ran) == ["toy-no", "toy-yes"]
    text = md.read_text(encoding="utf-8")
    assert text.count("## 池化层") == 1
    assert "**Verdict: reproduced**" in text and "**Verdict: not reproduced**" in text
    assert "**Disagrees with the notes**" in text and "x is big" in text
    assert "needs dlprimer detect" in text
    assert "![toy-yes plot.png](toy-yes/plot.png)" in text
    html = page.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "src='toy-" not in html  # self-contained
    payload = html.split("data:image/png;base64,")[1].split("'")[0]
    assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"
    ran.clear()
    report.write_report(tmp_path, seed=0, quick=True, on_start=ran.append)
    assert ran == []  # results of the same seed and mode are reused


def test_cli_list_json_and_table(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == EXPERIMENTS.names() and len(rows) >= 25
    assert all(r["last_verdict"] is None for r in rows)
    assert main(["experiment", "run", FAST, "--quick"]) == 0
    out = capsys.readouterr().out
    assert "verdict: reproduced" in out and "criterion: reproduced if" in out and "stable_nonfinite_rows_max" in out
    assert (tmp_path / "runs" / "experiments" / FAST / "result.json").is_file()
    assert main(["experiment", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "topic"]
    assert len(lines) == len(EXPERIMENTS) + 1  # one unwrapped line per experiment
    row = next(line for line in lines if line.startswith(FAST))
    assert row.endswith("reproduced (quick)")


def test_cli_errors_one_line_exit_2(tmp_path, capsys):
    assert main(["experiment", "run", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlprimer: error: unknown experiment 'nope'; known experiments:")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["experiment", "run", FAST, "--quick", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["experiment", "run", FAST, "--seed", "4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds results of seed 0, quick mode" in err and err.count("\n") == 1
    assert main(["experiment", "report", "--out", str(tmp_path)]) == 2
    assert "holds results of seed 0, quick mode" in capsys.readouterr().err
