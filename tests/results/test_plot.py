"""The plan curve (``hlamatch.results.plot.plot_plan``): files written, what is drawn, and the errors."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

from hlamatch.errors import HlamatchError, MissingExtraError, OptionError
from hlamatch.results.plot import check_plot_path, plot_plan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def plan(n: int = 5, *, bands: bool = True, pops: tuple[str, ...] = ()) -> list[dict]:
    rows = []
    for i in range(n + 1):
        cov = 0.1 + 0.5 * (1 - 0.6**i)
        row = {"step": i, "line": "existing bank" if i == 0 else f"line {i}", "coverage": cov}
        if bands:
            row["lower"], row["upper"] = cov, min(1.0, cov + 0.02 * i)
        for j, pop in enumerate(pops):
            row[f"coverage_{pop}"] = cov * (0.8 + 0.2 * j)
        rows.append(row)
    return rows


def drawn(monkeypatch) -> list:
    """Capture the Figure that plot_plan saves (to inspect what was drawn)."""
    from matplotlib.figure import Figure

    figures = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


def test_png_is_written_with_bands_target_and_populations(tmp_path, monkeypatch):
    figures = drawn(monkeypatch)
    out = plot_plan(plan(pops=("JPN", "KOR")), tmp_path / "plan.png", title="JPN + KOR", target=0.5)
    assert out == tmp_path / "plan.png"
    assert out.read_bytes()[:8] == PNG_MAGIC

    (ax,) = figures[0].axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["all populations", "JPN", "KOR", "target 50%"]
    assert len(ax.collections) == 1  # the lower-upper band
    assert ax.get_title() == "JPN + KOR"
    assert ax.get_xlabel() == "number of lines added to the bank (0 = existing bank)"
    assert ax.get_ylabel() == "cumulative coverage (% of patients)"
    main = ax.get_lines()[0]
    assert list(main.get_xdata()) == list(range(6))
    assert main.get_ydata()[0] == pytest.approx(10.0)  # percent
    target = ax.get_lines()[-1]
    assert target.get_linestyle() == "--" and list(target.get_ydata()) == [50.0, 50.0]


def test_no_band_when_bounds_agree_and_default_title(tmp_path, monkeypatch):
    figures = drawn(monkeypatch)
    rows = [{**r, "upper": r["coverage"]} for r in plan()]
    plot_plan(rows, tmp_path / "plan.png")
    (ax,) = figures[0].axes
    assert len(ax.collections) == 0
    assert [line.get_label() for line in ax.get_lines()] == ["coverage"]
    assert ax.get_title() == "Bank plan: cumulative coverage"


def test_rows_in_any_order_and_polars_frame(tmp_path, monkeypatch):
    figures = drawn(monkeypatch)
    rows = plan(3, bands=False)
    plot_plan(list(reversed(rows)), tmp_path / "a.png")
    plot_plan(pl.DataFrame(rows), tmp_path / "b.png")
    for fig in figures:
        assert list(fig.axes[0].get_lines()[0].get_xdata()) == [0, 1, 2, 3]


def test_missing_population_value_leaves_a_gap(tmp_path, monkeypatch):
    figures = drawn(monkeypatch)
    rows = [
        {"step": 1, "coverage": 0.3, "coverage_JPN": None, "lower": None},
        {"step": 0, "coverage": 0.1, "coverage_JPN": 0.2},
        {"step": 2, "coverage": 0.4},
    ]
    plot_plan(rows, tmp_path / "plan.png")
    jpn = figures[0].axes[0].get_lines()[1]
    assert jpn.get_label() == "JPN"
    assert jpn.get_ydata()[0] == pytest.approx(20.0) and np.isnan(jpn.get_ydata()[1:]).all()


def test_nested_and_empty_population_columns_draw_no_curve(tmp_path, monkeypatch):
    # plan rows carry a ``coverage_by_population`` dict next to the flat ``coverage_<POP>`` columns
    figures = drawn(monkeypatch)
    rows = [
        {"step": 0, "coverage": 0.1, "coverage_by_population": {"JPN": 0.1}, "coverage_JPN": 0.1, "coverage_X": None},
        {"step": 1, "coverage": 0.3, "coverage_by_population": None, "coverage_JPN": 0.3},
    ]
    plot_plan(rows, tmp_path / "plan.png")
    assert [line.get_label() for line in figures[0].axes[0].get_lines()] == ["all populations", "JPN"]


def test_check_plot_path(tmp_path, monkeypatch):
    assert check_plot_path(str(tmp_path / "a.svg")) == tmp_path / "a.svg"
    with pytest.raises(OptionError, match=r"must end in \.png, \.svg or \.pdf$"):
        check_plot_path(tmp_path / "a.txt")
    with pytest.raises(OptionError, match="does not exist$"):
        check_plot_path(tmp_path / "no" / "a.png")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError):  # reported before any plan is computed
        check_plot_path(tmp_path / "a.png")


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".PNG"])
def test_other_formats(tmp_path, suffix):
    out = plot_plan(plan(2), tmp_path / f"plan{suffix}")
    head = out.read_bytes()[:8]
    assert {".svg": b"<?xml", ".pdf": b"%PDF", ".PNG": PNG_MAGIC}[suffix] in head


def test_bad_suffix(tmp_path):
    with pytest.raises(OptionError) as e:
        plot_plan(plan(), tmp_path / "plan.jpg")
    assert str(e.value) == f"plot file {str(tmp_path / 'plan.jpg')!r} must end in .png, .svg or .pdf"
    assert not (tmp_path / "plan.jpg").exists()


def test_missing_folder(tmp_path):
    path = tmp_path / "nowhere" / "plan.png"
    with pytest.raises(OptionError) as e:
        plot_plan(plan(), path)
    assert str(e.value) == (f"cannot write plot file {str(path)!r}: folder {str(path.parent)!r} does not exist")


def test_missing_matplotlib(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    with pytest.raises(MissingExtraError) as e:
        plot_plan(plan(), tmp_path / "plan.png")
    assert str(e.value) == "plots need matplotlib: pip install 'hlamatch[plot]'"
    assert isinstance(e.value, ImportError) and isinstance(e.value, HlamatchError)
    assert not (tmp_path / "plan.png").exists()


@pytest.mark.parametrize(
    ("steps", "kwargs", "message"),
    [
        ([], {}, "steps is empty: a plan has at least step 0 (the existing bank)"),
        ("steps", {}, "steps must be a sequence of dicts (one per plan step), found str"),
        ([{"step": 0}], {}, "plan step 0 has no 'coverage' value"),
        ([{"coverage": 0.1}], {}, "plan step 0 has no 'step' value"),
        ([{"step": 0, "coverage": 1.5}], {}, "plan step 0: 'coverage' must be a coverage between 0 and 1, found 1.5"),
        ([{"step": -1, "coverage": 0.5}], {}, "plan step 0: 'step' must be a non-negative integer, found -1"),
        ([{"step": 0, "coverage": 0.1}, {"step": 0, "coverage": 0.2}], {}, "plan steps repeat a step number: [0, 0]"),
        (
            [{"step": 0, "coverage": 0.1, "lower": 0.2, "upper": 0.1}],
            {},
            "plan step 0: lower bound 0.2 is above upper bound 0.1",
        ),
        (
            [{"step": 0, "coverage": 0.1, "coverage_JPN": "x"}],
            {},
            "plan step 0: 'coverage_JPN' must be a coverage between 0 and 1, found 'x'",
        ),
        ([{"step": 0, "coverage": 0.1}], {"target": 95}, "target must be a coverage between 0 and 1, found 95"),
    ],
)
def test_bad_steps(tmp_path, steps, kwargs, message):
    with pytest.raises(OptionError) as e:
        plot_plan(steps, tmp_path / "plan.png", **kwargs)
    assert str(e.value) == message
