"""One vocabulary for the API and the CLI: renamed parameters and flags keep their old spelling for
one minor version (a DeprecationWarning, a CLI note), and library errors name parameters that the
CLI writes as its flags."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

import hlamatch
from hlamatch._deprecation import renamed
from hlamatch.cli import cli
from hlamatch.errors import OptionError

LOCI = ["A", "B", "DRB1"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


# ============================================================================ the helper


@renamed(old_name="new_name", since="0.2.0", removal="0.3.0")
def _f(*, new_name: int = 0) -> int:
    """Doc."""
    return new_name


def test_renamed_maps_the_old_keyword_with_a_warning_naming_both_and_the_removal():
    assert _f(new_name=2) == 2
    with pytest.warns(
        DeprecationWarning,
        match=r"_f\(\): old_name= is deprecated since 0.2.0, use new_name= "
        r"\(removal in 0.3.0\)",
    ):
        assert _f(old_name=3) == 3  # type: ignore[call-arg]
    with pytest.raises(OptionError, match="got both new_name= and old_name="):
        _f(new_name=1, old_name=2)  # type: ignore[call-arg]
    assert _f.__doc__ == "Doc." and _f.__name__ == "_f"


def test_the_helper_imports_nothing_from_hlamatch_but_errors():
    import ast
    from pathlib import Path

    import hlamatch._deprecation as mod

    tree = ast.parse(Path(mod.__file__).read_text())
    targets = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    targets |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {t for t in targets if t.startswith("hlamatch")} == {"hlamatch.errors"}


# ============================================================================ the API renames

RENAMES = [
    # (function, fixed keywords, old, new, value)
    ("supply", dict(loci=LOCI), "top", "n_candidates", 2),
    ("rank_candidates", dict(n_candidates=3, loci=LOCI, level="haplotype"), "registry_size", "registry_sizes", 1000),
    ("plan_bank", dict(n_candidates=5, loci=LOCI, level="haplotype"), "n_lines", "max_lines", 2),
]


@pytest.mark.parametrize("name, fixed, old, new, value", RENAMES)
def test_renamed_parameter_new_old_and_both(name, fixed, old, new, value):
    fn = getattr(hlamatch, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = fn("japanese", **fixed, **{new: value})
    with pytest.warns(DeprecationWarning, match=rf"{old}= is deprecated since 0.2.0, use {new}= \(removal in 0.3.0\)"):
        got = fn("japanese", **fixed, **{old: value})
    assert got == expected
    with pytest.raises(OptionError, match=rf"got both {new}= and {old}="):
        fn("japanese", **fixed, **{old: value, new: value})


def test_signatures_show_the_new_names_only():
    import inspect

    for name, _, old, new, _ in RENAMES:
        params = inspect.signature(getattr(hlamatch, name)).parameters
        assert new in params and old not in params, name


def test_rank_takes_several_registry_sizes_as_supply_does():
    r = hlamatch.rank_candidates("japanese", n_candidates=3, loci=LOCI, level="haplotype", registry_sizes=[100, 1000])
    assert r.registry_sizes == (100, 1000)
    row = r.to_dicts()[0]
    assert row["registry_sizes"] == [100, 1000] and row["p_in_registry_100"] <= row["p_in_registry_1000"]
    one = hlamatch.rank_candidates("japanese", n_candidates=3, loci=LOCI, level="haplotype", registry_sizes=1000)
    assert one.registry_sizes == (1000,) and one[0].p_in_registry == (row["p_in_registry_1000"],)
    with pytest.raises(OptionError, match="registry size 100 is given twice"):
        hlamatch.rank_candidates("japanese", n_candidates=3, loci=LOCI, registry_sizes=[100, 100])


# ============================================================================ the CLI alias


def test_plan_lines_alias_works_with_one_note_and_is_hidden():
    new = invoke("plan", "--loci", "A,B,DRB1", "-n", "5", "--max-lines", "2", "--format", "json")
    old = invoke("plan", "--loci", "A,B,DRB1", "-n", "5", "--lines", "2", "--format", "json")
    assert new.exit_code == 0 and old.exit_code == 0, old.output
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert old.stderr.splitlines() == ["Note: --lines is deprecated, use --max-lines (removal in 0.3.0)"]
    assert new.stderr == ""
    both = invoke("plan", "--loci", "A,B,DRB1", "-n", "5", "--lines", "2", "--max-lines", "2")
    assert both.exit_code == 2 and "--lines is the old name of --max-lines" in both.output
    help_text = invoke("plan", "--help").output
    assert "--max-lines" in help_text and "--lines " not in help_text and "--lines\n" not in help_text


def test_rank_registry_size_repeats_like_supply():
    r = invoke("rank", "--loci", "A,B,DRB1", "-n", "3", "-R", "100,1000", "-R", "5000", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["registry_sizes"] == [100, 1000, 5000]
    text = invoke("rank", "--loci", "A,B,DRB1", "-n", "3", "--registry-size", "100", "-R", "1000").output
    assert "P(in 100)" in text and "P(in 1,000)" in text


# ============================================================================ parameters and flags


def test_an_api_error_names_the_parameter_and_the_cli_the_flag():
    with pytest.raises(OptionError) as e:
        hlamatch.plan_bank("japanese", n_candidates=5, loci=LOCI)
    assert str(e.value) == "give target (a coverage, e.g. 0.8), max_lines (a number of lines, e.g. 50), or both"
    assert e.value.params == ("target", "max_lines")
    r = invoke("plan", "--loci", "A,B,DRB1", "-n", "5")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (
        "Error: give --target (a coverage, e.g. 0.8), --max-lines (a number of lines, e.g. 50), or both"
    )


def test_a_budget_error_names_n_candidates_or_its_flag():
    from hlamatch._settings import using

    with using(memory_budget=1000):
        with pytest.raises(OptionError, match=r"fewer candidates \(n_candidates\)"):
            hlamatch.supply("japanese", n_candidates=5, loci=LOCI)
        r = invoke("supply", "--loci", "A,B,DRB1", "-n", "5")
    assert r.exit_code == 1 and "fewer candidates (--n-candidates)" in r.output, r.output


def test_flag_names_leaves_names_without_an_option_and_longer_words_alone():
    import click

    from hlamatch.cli.output import flag_names

    @click.command()
    @click.option("--n-candidates", "-n", "n_candidates")
    def cmd(n_candidates):  # pragma: no cover - never run
        pass

    ctx = click.Context(cmd)
    msg = "use fewer (n_candidates), not my_n_candidates, n_candidates= or samples"
    assert flag_names(msg, ("n_candidates", "samples"), ctx) == (
        "use fewer (--n-candidates), not my_n_candidates, n_candidates= or samples"
    )


def test_rank_keeps_the_old_registry_columns_and_field_for_one_size_until_0_3():
    # 0.1.0 wrote registry_size and p_in_registry for its one registry size: kept (deprecated) beside
    # the new p_in_registry_R column, equal to it.
    report = hlamatch.rank_candidates("japanese", n_candidates=3, loci=["A", "B", "DRB1"], registry_sizes=5000)
    for row in report.to_dicts():
        assert row["registry_size"] == 5000 and row["p_in_registry"] == row["p_in_registry_5000"]
    with pytest.warns(DeprecationWarning, match="registry_sizes"):
        assert report.registry_size == 5000
    two = hlamatch.rank_candidates("japanese", n_candidates=3, loci=["A", "B", "DRB1"], registry_sizes=[10, 20])
    assert "p_in_registry" not in two.to_dicts()[0]  # several sizes: only the new columns
    csv = CliRunner().invoke(cli, ["rank", "-n", "3", "--loci", "A,B,DRB1", "-R", "5000", "--format", "csv"]).output
    header = csv.splitlines()[0].split(",")
    assert {"registry_size", "p_in_registry", "p_in_registry_5000"} <= set(header)
