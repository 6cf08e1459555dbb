"""hlamatch.cli.options.SingleUse and Command: a single-valued option given twice is a usage error,
checked by click's own parser (every occurrence kept, counted when the value is cast)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from hlamatch.cli.options import Command, SingleUse


@click.command("toy", cls=Command)
@click.option("--level", "-l", type=click.Choice(["genotype", "haplotype"]), default="genotype")
@click.option("--count", "-k", type=click.IntRange(min=0), default=0)
@click.option("--name", cls=SingleUse, default=None, envvar="TOY_NAME")
@click.option("--item", multiple=True)
@click.option("--quiet", "-q", is_flag=True)
@click.option("--verbose", "-v", count=True)
def toy(level, count, name, item, quiet, verbose):
    click.echo(repr((level, count, name, item, quiet, verbose)))


def run(*args: str, **env: str) -> click.testing.Result:
    return CliRunner().invoke(toy, list(args), env=env or None)


def test_options_given_once_keep_their_values_and_defaults():
    assert run().output.strip() == "('genotype', 0, None, (), False, 0)"
    assert run("-l", "haplotype", "-k2", "--name=x").output.strip() == "('haplotype', 2, 'x', (), False, 0)"
    assert run(TOY_NAME="env").output.strip() == "('genotype', 0, 'env', (), False, 0)"


def test_plain_options_become_single_use():
    assert all(isinstance(p, SingleUse) for p in toy.params if p.name in ("level", "count", "name"))
    assert not any(isinstance(p, SingleUse) for p in toy.params if p.name in ("item", "quiet", "verbose"))


@pytest.mark.parametrize(
    "args, message",
    [
        (("--level", "genotype", "-l", "haplotype"), "--level is given 2 times ('genotype', 'haplotype')"),
        (("-qk1", "--count=2", "-k", "x"), "--count is given 3 times ('1', '2', 'x')"),
        (("--name", "a", "--name", "a"), "--name is given 2 times ('a', 'a')"),
    ],
)
def test_a_second_value_is_a_usage_error(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert f"Error: {message}; it takes one value: give it once" in r.output


def test_flags_counts_and_multiple_options_repeat():
    assert run("-q", "-q", "-vv", "-v", "--item", "a", "--item", "b").output.strip() == (
        "('genotype', 0, None, ('a', 'b'), True, 3)"
    )
    # a value that looks like an option is a value, not an occurrence
    assert run("--name", "--level", "--level", "haplotype").output.strip() == (
        "('haplotype', 0, '--level', (), False, 0)"
    )


def test_an_option_class_not_derived_from_single_use_is_refused():
    class Other(click.Option):
        pass

    with pytest.raises(TypeError, match="derive Other from SingleUse"):
        click.command("bad", cls=Command)(click.option("--x", cls=Other)(lambda x: None))
