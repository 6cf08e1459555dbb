"""A newcomer's walk-through: every ``--help`` example runs, and the README's shown outputs are what
the commands print.

The examples name files a planner would have (``bank.csv``, ``patients.csv``, ``donors.csv``);
small ones are written here.  ``freqs.JAPI.csv`` and ``nmdp.csv`` stand for real NMDP tables and
are read in place from ``../shared/data`` (those examples skip without it).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from test_cli import invoke

from hlamatch.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
REAL = {
    "freqs.JAPI.csv": SHARED / "raw" / "HLAMatchIt" / "freqs_9loc_2020_trim" / "freqs.JAPI.csv",
    "nmdp.csv": SHARED / "raw" / "ImmunogeneticDataTools" / "std" / "NMDP_2007_FiveLocus_Freqs.csv",
}
SAMPLES = {
    "bank.csv": "name,haplotype\nCiRA-1,A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01\n"
    "line-2,A*33:03~C*14:03~B*44:03~DRB1*13:02~DQB1*06:04\n\n",
    "donors.csv": "haplotype\nA*24:02~C*07:02~B*07:02~DRB1*01:01~DQB1*05:01\n"
    "A*24:02~C*01:02~B*54:01~DRB1*04:05~DQB1*04:01\n",
    "patients.csv": "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\np1,A*24:02,A*02:01,B*52:01,B*07:02,DRB1*15:02,DRB1*04:05\n"
    "p2,A*33:03,A*24:02,B*44:03,B*52:01,DRB1*13:02,DRB1*15:02\n",
}
SAMPLES["cohort.csv"] = SAMPLES["patients.csv"]


def help_examples() -> list[str]:
    """Every example of every command's ``--help`` (continued lines joined)."""
    out = []
    for name in COMMANDS:
        text = invoke(name, "--help").stdout
        block = text.split("Examples:", 1)[1].split("\n\n", 1)[0]
        block = re.sub(r"\\\n\s+", " ", block)
        out += [line.strip() for line in block.splitlines() if line.strip().startswith("hlamatch ")]
    return out


@pytest.fixture
def planner_folder(tmp_path, monkeypatch):
    for name, text in SAMPLES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_command_has_examples():
    examples = help_examples()
    assert {e.split()[1] for e in examples} == set(COMMANDS)


@pytest.mark.parametrize("example", help_examples())
def test_help_example_runs(example, planner_folder):
    args = shlex.split(example)[1:]
    for name, path in REAL.items():
        if name in args:
            if not path.exists():
                pytest.skip(f"{name} stands for a real NMDP table read from ../shared/data, absent here")
            os.symlink(path, planner_folder / name)
    result = invoke(*args)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.strip()


def readme_sessions() -> list[tuple[str, list[str]]]:
    """(command, lines shown) for each ``$ hlamatch`` session in the README (``...`` elides lines)."""
    text = (REPO / "README.md").read_text()
    sessions = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        parts = re.split(r"^\$ (hlamatch .*)$", block, flags=re.M)
        for cmd, shown in zip(parts[1::2], parts[2::2]):
            sessions.append((cmd, [line.rstrip() for line in shown.strip("\n").splitlines()]))
    return sessions


def _matches(shown: list[str], got: list[str]) -> bool:
    """Each shown line appears in the output in order; ``...`` stands for any lines."""
    pos = 0
    for line in shown:
        if line == "...":
            continue
        try:
            pos = got.index(line, pos) + 1
        except ValueError:
            return False
    return True


@pytest.mark.parametrize("cmd,shown", readme_sessions(), ids=[c for c, _ in readme_sessions()])
def test_readme_session_prints_what_the_readme_shows(cmd, shown, planner_folder):
    args = shlex.split(cmd)[1:]
    if "--nomenclature" in args:
        folder = SHARED / "raw" / "IMGTHLA"
        if not folder.exists():
            pytest.skip("the WMDA nomenclature files are read from ../shared/data/raw/IMGTHLA, absent here")
        args[args.index("--nomenclature") + 1] = str(folder)
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    got = [line.rstrip() for line in result.stdout.splitlines()]
    assert _matches(shown, got), "\n".join(["README shows:", *shown, "", "the command prints:", *got])


def test_readme_python_section_runs_and_shows_what_it_says(planner_folder):
    if not REAL["freqs.JAPI.csv"].exists():
        pytest.skip("freqs.JAPI.csv stands for the real NMDP JAPI table read from ../shared/data, absent here")
    os.symlink(REAL["freqs.JAPI.csv"], planner_folder / "freqs.JAPI.csv")
    text = (REPO / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert f"{scope['report'].get('genotype').coverage:.4f}" == "0.1581"
    shown = re.search(r"^table +# (<HaplotypeTable .*>)$", code, re.M).group(1)
    assert re.fullmatch(re.escape(shown).replace(re.escape("..."), ".*"), repr(scope["table"]))
    scope["report"].to_polars().write_csv(planner_folder / "report.csv")
    assert (planner_folder / "report.csv").read_text().startswith("population,level,")
