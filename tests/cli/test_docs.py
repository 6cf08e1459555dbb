"""The README's set-up commands and CI run the same test command."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands():
    head = (REPO / "README.md").read_text().split("```bash", 1)[0]
    assert head.strip() == "# hlamatch", "the two set-up commands must be the README's first lines"
    commands = _readme_commands()
    assert len(commands) == 2
    assert "pip install ." in commands[0] and "hlamatch coverage" in commands[0]
    assert ".[test]" in commands[1] and commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in [line.strip() for line in ci]
