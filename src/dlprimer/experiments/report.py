"""The experiment report: ``report.md`` and a self-contained ``report.html`` (figures embedded as base64).

One section per notes heading (in the notes' order), each experiment with its claim (Chinese and English), the
setup in two lines, the figure, the numbers, the criterion with every condition marked, and the verdict. Where
a verdict is not ``reproduced`` the report says plainly that the measurement disagrees with the notes.
Results already in the folder for the same seed and mode (and the same criterion text) are reused.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from pathlib import Path

from dlprimer._io import atomic_write_text
from dlprimer.experiments.base import Experiment, ExperimentResult
from dlprimer.experiments.registry import EXPERIMENTS
from dlprimer.experiments.runner import DEFAULT_OUT, check_out_folder, load_result

__all__ = ["SECTION_ORDER", "write_report"]

#: notes headings in the order they appear in the notes
SECTION_ORDER = (
    "为什么使用深层表示",
    "卷积神经网络中卷积操作和互相关操作的关系",
    "池化层",
    "激活函数的性质",
    "激活函数详解",
    "相对于sigmoid激活函数, tanh激活函数输出关于零点对称的好处",
    "如何解决ReLu神经元死亡的问题",
    "softmax定义及作用",
    "为什么归一化能提高求解最优解速度",
    "BN层的深入理解",
    "权重偏差初始化",
    "参数初始化方法",
    "Label-smooth详解",
    "卷积层是否越大越好",
    "怎样才能减少卷积层参数两",
    "CNN分类网络的演变脉络及各自的贡献与特点",
    "手动设计高效CNN架构的结论和建议",
    "IOU的介绍及其变形介绍",
    "Cross Entropy交叉熵损失函数介绍",
    "Focal Loss损失函数介绍",
    "smooth L1 loss介绍",
    "Anchor-freeAnchor-based区别",
    "过拟合与欠拟合的变表现与解决办法",
    "梯度消失和梯度爆炸以及解决方法",
    "学习率和BatchSize对模型的影响",
    "特征融合concatadd的区别",
    "SGDAdam的区别",
    "Adam缺点",
    "SGDS(stochastic随机)体现在哪里",
    "模型搭建流程",
    "model.trainmodel.eval区别",
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "nan/inf"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4g}"
    return f"{value:.3e}"


def _sections() -> list[tuple[str, list[Experiment]]]:
    by_section: dict[str, list[Experiment]] = {}
    for _, e in EXPERIMENTS.items():
        by_section.setdefault(e.section, []).append(e)
    order = {s: i for i, s in enumerate(SECTION_ORDER)}
    return sorted(by_section.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def _collect(out: Path, seed: int, quick: bool, on_start: Callable[[str], None] | None
             ) -> dict[str, ExperimentResult | str]:
    results: dict[str, ExperimentResult | str] = {}
    mode = "quick" if quick else "full"
    for name, e in EXPERIMENTS.items():
        if e.requires is not None:
            results[name] = e.requires
            continue
        old = load_result(out, name)
        if old is not None and old.seed == seed and old.mode == mode and old.criterion == e.criterion.text() and all(
            (out / name / f).is_file() for f in old.figures
        ):
            results[name] = old
            continue
        if on_start is not None:
            on_start(name)
        results[name] = e.run(out / name, seed=seed, quick=quick)
    return results


def _disagreement(r: ExperimentResult) -> str:
    failed = [c["meaning"] or c["number"] for c in r.conditions if not c["holds"]]
    return ("**Disagrees with the notes**" if r.verdict == "not reproduced" else "**Only partly agrees with the notes**"
            ) + ": not measured here — " + "; ".join(failed) + "."


def write_report(
    out: str | os.PathLike[str] = DEFAULT_OUT,
    seed: int = 0,
    quick: bool = False,
    on_start: Callable[[str], None] | None = None,
) -> tuple[Path, Path]:
    """Run (or reuse) every experiment in ``out`` and write ``out/report.md`` and ``out/report.html``."""
    root = check_out_folder(out, seed, quick)
    results = _collect(root, seed, quick, on_start)
    mode = "quick" if quick else "full"
    done = [r for r in results.values() if isinstance(r, ExperimentResult)]
    counts = {v: sum(r.verdict == v for r in done) for v in ("reproduced", "partly", "not reproduced")}
    md: list[str] = [f"# The notes' claims, measured (seed {seed}, {mode} mode)", ""]
    hp: list[str] = [f"<h1>The notes' claims, measured (seed {seed}, {mode} mode)</h1>"]
    summary = (f"{len(done)} experiments ran: {counts['reproduced']} reproduced, {counts['partly']} partly, "
               f"{counts['not reproduced']} not reproduced; {len(results) - len(done)} could not run here.")
    md += [summary, "", "| experiment | notes section | verdict |", "|---|---|---|"]
    hp += [f"<p>{html.escape(summary)}</p>",
           "<table><tr><th>experiment</th><th>notes section</th><th>verdict</th></tr>"]
    for section, exps in _sections():
        for e in exps:
            r = results[e.name]
            verdict = r.verdict if isinstance(r, ExperimentResult) else "not run"
            md.append(f"| [{e.name}](#{e.name}) | {section} | {verdict} |")
            hp.append(f"<tr><td><a href='#{e.name}'>{e.name}</a></td><td>{html.escape(section)}</td>"
                      f"<td class='{verdict.replace(' ', '-')}'>{verdict}</td></tr>")
    md.append("")
    hp.append("</table>")
    for section, exps in _sections():
        md += [f"## {section}", ""]
        hp.append(f"<h2>{html.escape(section)}</h2>")
        for e in exps:
            r = results[e.name]
            md += [f"### {e.name}", "", f"<a id=\"{e.name}\"></a>", "", f"> {e.claim_zh}", "",
                   f"*Claim:* {e.claim_en}", "", f"*Setup:* {e.setup.replace(chr(10), ' ')}", ""]
            hp += [f"<h3 id='{e.name}'>{e.name}</h3>", f"<blockquote>{html.escape(e.claim_zh)}</blockquote>",
                   f"<p><i>Claim:</i> {html.escape(e.claim_en)}</p>",
                   f"<p><i>Setup:</i> {html.escape(e.setup).replace(chr(10), '<br>')}</p>"]
            if not isinstance(r, ExperimentResult):
                md += [f"**Not run:** {r}", ""]
                hp.append(f"<p><b>Not run:</b> {html.escape(r)}</p>")
                continue
            for fig in r.figures:
                md += [f"![{e.name} {fig}]({e.name}/{fig})", ""]
                data = base64.b64encode((root / e.name / fig).read_bytes()).decode("ascii")
                hp.append(f"<img alt='{e.name} {fig}' src='data:image/png;base64,{data}'>")
            md += ["| number | value |", "|---|---|"]
            md += [f"| {k} | {_fmt(v)} |" for k, v in r.numbers.items()]
            md.append("")
            hp.append("<table><tr><th>number</th><th>value</th></tr>" + "".join(
                f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in r.numbers.items()) + "</table>")
            md.append("*Criterion:* " + r.criterion)
            md.append("")
            hp.append(f"<p><i>Criterion:</i> {html.escape(r.criterion)}</p><ul>")
            for c in r.conditions:
                mark = "✓" if c["holds"] else "✗"
                value = _fmt(r.numbers.get(c["number"]))
                line = f"{mark} {c['number']} = {value} {c['op']} {c['threshold']:g} ({c['meaning']})"
                md.append(f"- {line}")
                hp.append(f"<li>{html.escape(line)}</li>")
            hp.append("</ul>")
            md += ["", f"**Verdict: {r.verdict}**", ""]
            hp.append(f"<p class='{r.verdict.replace(' ', '-')}'><b>Verdict: {r.verdict}</b></p>")
            if r.verdict != "reproduced":
                md += [_disagreement(r), ""]
                text = _disagreement(r).replace("**", "")
                hp.append(f"<p class='disagree'>{html.escape(text)}</p>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}img{max-width:100%}"
             "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}"
             ".reproduced{color:#070}.partly{color:#a60}.not-reproduced,.disagree{color:#b00}")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>dlprimer experiments</title>"
            f"<style>{style}</style></head><body>" + "\n".join(hp) + "</body></html>\n")
    md_path, html_path = root / "report.md", root / "report.html"
    atomic_write_text(md_path, "\n".join(md) + "\n")
    atomic_write_text(html_path, page)
    return md_path, html_path
