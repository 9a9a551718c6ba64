"""Design sampling and global sensitivity analysis for experiments (``sim.experiment``).

Sampling turns bounds into a matrix of points, one row per point and one column per parameter:
``random`` (independent uniform draws), ``lhs`` (Latin hypercube, ``scipy.stats.qmc``), ``sobol``
(SALib's Saltelli/Sobol' sequence) and ``morris`` (SALib's Morris trajectories). Every sampler draws
from one integer seed, so a design is the same wherever and whenever it is made.

Analysis runs SALib's estimators on such a matrix and the model outputs of its rows: Morris elementary
effects (``mu_star``, ``sigma``: a screening of which inputs matter at all, cheap) and Sobol' indices
(``S1`` first-order, ``ST`` total: the share of output variance each input explains, expensive). The
result is one long table, a row per output and parameter, with confidence intervals from SALib's
bootstrap, and a figure labelled in Japanese and English.

This module knows nothing of the model: the analysis is checked on functions with a known answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

SAMPLERS = ("random", "lhs", "sobol", "morris")
ANALYSED = ("sobol", "morris")  # the designs an analysis exists for
LEVEL = 0.95  # confidence level of the bootstrap intervals
RESAMPLES = 1000  # bootstrap resamples of the confidence intervals

# method -> the columns of its result table after ``output`` and ``parameter``
COLUMNS = {"morris": ("mu_star", "mu_star_conf", "mu", "sigma"),
           "sobol": ("S1", "S1_conf", "ST", "ST_conf")}
# method -> the title of its figure
TITLES = {"morris": "Morris スクリーニング Morris screening", "sobol": "Sobol 感度指数 Sobol' indices"}


def problem(names: Sequence[str], bounds: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """SALib's description of the inputs: their number, names and (low, high) bounds."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[float(lo), float(hi)] for lo, hi in bounds]}


def sample(method: str, prob: Mapping[str, Any], n: int, seed: int, *, levels: int = 4,
           second_order: bool = False) -> np.ndarray:
    """The design matrix of ``method`` on the inputs ``prob`` (rows: points, columns: inputs, in real units).

    ``n`` is the number of samples for ``random`` and ``lhs``, the base sample size N for ``sobol``
    (N x (D + 2) rows, N x (2D + 2) with ``second_order``) and the number of trajectories for ``morris``
    (trajectories x (D + 1) rows on a grid of ``levels`` levels).
    """
    d = int(prob["num_vars"])
    lo, hi = np.array(prob["bounds"], dtype=float).T
    if method == "random":
        return np.random.default_rng(seed).uniform(lo, hi, size=(n, d))
    if method == "lhs":
        from scipy.stats import qmc

        return np.asarray(qmc.scale(qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n), lo, hi))
    if method == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(dict(prob), n, calc_second_order=second_order, scramble=True, seed=seed))
    if method == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(dict(prob), n, num_levels=levels, seed=seed))
    raise ValueError(f"method: {method!r} is not allowed; allowed: {', '.join(SAMPLERS)}")


def analyse(method: str, prob: Mapping[str, Any], matrix: np.ndarray, outputs: Mapping[str, np.ndarray],
            seed: int, *, levels: int = 4, second_order: bool = False) -> pd.DataFrame:
    """SALib's analysis of each output: one row per output and parameter.

    ``matrix`` is the design as sampled (``sample``), ``outputs`` maps an output's name to its values, one
    per row of ``matrix`` in the same order. Morris gives ``mu_star`` (mean absolute elementary effect, in
    output units per the parameter's whole range; the ranking of importance), its ``mu_star_conf``
    (half-width of the bootstrap interval), ``mu`` and ``sigma`` (spread: interactions or non-linearity).
    Sobol gives ``S1`` and ``ST`` with their ``_conf`` half-widths. An output that never varies has no
    variance to share: its Sobol indices are NaN (its Morris effects 0).
    """
    import pandas as pd

    if method not in ANALYSED:
        raise ValueError(f"method: {method!r} has no sensitivity analysis; allowed: {', '.join(ANALYSED)}")
    rows: list[dict[str, Any]] = []
    x = np.asarray(matrix, dtype=float)
    for name, values in outputs.items():
        y = np.asarray(values, dtype=float)
        if y.shape != (x.shape[0],):
            raise ValueError(f"output {name!r}: {y.shape[0] if y.ndim else 0} values for {x.shape[0]} design rows; "
                             "allowed: one value per row")
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "morris":
                from SALib.analyze import morris

                res = morris.analyze(dict(prob), x, y, num_resamples=RESAMPLES, conf_level=LEVEL, num_levels=levels,
                                     seed=seed)
            else:
                from SALib.analyze import sobol

                if np.ptp(y) == 0:  # no variance: nothing to share out (SALib would divide by zero)
                    nan = np.full(len(prob["names"]), np.nan)
                    res = {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}
                else:
                    res = sobol.analyze(dict(prob), y, calc_second_order=second_order, num_resamples=RESAMPLES,
                                        conf_level=LEVEL, seed=seed)
        for i, parameter in enumerate(prob["names"]):
            rows.append({"output": name, "parameter": parameter,
                         **{c: float(np.ma.filled(np.asarray(res[c], dtype=float)[i], np.nan))
                            for c in COLUMNS[method]}})
    return pd.DataFrame(rows, columns=["output", "parameter", *COLUMNS[method]])


def plot(results: pd.DataFrame, method: str, path: str | Path, *, outputs: Mapping[str, str] | None = None,
         parameters: Mapping[str, str] | None = None, title: str = "") -> Path:
    """PNG of an analysis (``analyse``), one panel per output, written atomically.

    Morris: bars of ``mu_star`` with their interval, most influential parameter on top. Sobol: bars of
    ``S1`` and ``ST`` with their intervals. ``outputs`` and ``parameters`` map names to the labels shown
    (Japanese with English); the font is the Japanese one matplotlib-fontja ships.
    """
    from sim.report import pyplot, save_png

    plt = pyplot()

    outputs = outputs or {}
    parameters = parameters or {}
    names = list(dict.fromkeys(results["output"]))
    cols = min(3, max(1, len(names)))
    nrows = -(-len(names) // cols)
    n_par = results["parameter"].nunique()
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 1.2 + (0.38 * n_par + 1.2) * nrows),
                             constrained_layout=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        part = results.loc[results["output"] == name]
        key = "mu_star" if method == "morris" else "ST"
        part = part.assign(_k=part[key].fillna(-1.0)).sort_values("_k")  # most influential on top
        ys = np.arange(len(part))
        labels = [parameters.get(p, p) for p in part["parameter"]]
        if method == "morris":
            ax.barh(ys, part["mu_star"], xerr=part["mu_star_conf"], color="tab:blue", capsize=2)
            ax.set_xlabel("μ* 平均絶対要素効果 mean |effect|")
        else:
            h = 0.38
            ax.barh(ys + h / 2, part["ST"], h, xerr=part["ST_conf"], color="tab:orange", capsize=2,
                    label="ST 全効果 total")
            ax.barh(ys - h / 2, part["S1"], h, xerr=part["S1_conf"], color="tab:blue", capsize=2,
                    label="S1 一次 first-order")
            ax.set_xlabel("感度指数 sensitivity index")
        ax.set_yticks(ys, labels, fontsize="small")
        ax.set_title(outputs.get(name, name))
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if method == "sobol":  # one legend for every panel, below them
        handles, texts = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles[::-1], texts[::-1], loc="outside lower center", ncols=2)
    fig.suptitle(title or TITLES[method])
    return save_png(fig, path)
