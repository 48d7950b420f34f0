"""The theory rates moerate's analysis sets beside each measured slope: which loss, for which experts and setting,
decays at which rate according to the papers (P1, P2 and its ICML 2024 base, P3).  Used by rates.py and the
tests; the claims a verdict is given on are analysis/claims.toml.
"""
from dataclasses import dataclass
from fractions import Fraction

# expert families by the identifiability class their registry entry declares (/families/expert/<name>)
STRONG = frozenset({"strong"})  # strongly identifiable experts (P1 Def. 1)
NONIDENTIFIABLE = frozenset({"linear", "constant"})
ALL_EXPERTS = STRONG | NONIDENTIFIABLE
SLOWER = "slower than any n^-c"


@dataclass(frozen=True)
class Theory:
    """A theory rate: `rate` is the log-log slope (a Fraction) or a text when it is not polynomial."""

    rate: object
    reason: str
    tag: str

    @property
    def slope(self):
        """The slope as a float, None when there is no polynomial rate."""
        return float(self.rate) if isinstance(self.rate, Fraction) else None


# loss -> [(experts, setting, theory)]; setting "over" (k > k*), "exact" (k = k*), "matched" (the fit
# has the truth's families), "misspecified" (it has not) or None (any); the first matching rule
# applies, no match means no theory for that setting.
THEORY = {
    "l2": [(ALL_EXPERTS, None, Theory(Fraction(-1, 2), "L2 regression error against the fit's target (f_G* or "
                                      "f_G-bar), every setting (up to log)", "P1-P3"))],
    "l2_truth": [(ALL_EXPERTS, "matched", Theory(Fraction(-1, 2), "L2 error against f_G*, the fit has the truth's "
                                                 "families (up to log)", "P1-P3")),
                 (ALL_EXPERTS, "misspecified", Theory("none", "misspecified fit: tends to the positive L2 "
                                                      "distance between f_G-bar and f_G*", ""))],
    "sigmoid_d1": [(STRONG, "regime 1", Theory(Fraction(-1, 2), "sigmoid gating, strongly identifiable experts, "
                                               "beta1* = 0", "P1 Regime 1")),
                   (STRONG, "regime 2", Theory("none", "Regime 2 (beta1* != 0): the estimator converges to G-bar "
                                               "(sigmoid_d3), not to G*", "P1")),
                   (NONIDENTIFIABLE, None, Theory("no polynomial rate", "D1 needs strongly identifiable experts",
                                                  "P1"))],
    "sigmoid_d2": [(NONIDENTIFIABLE, None, Theory(SLOWER, "sigmoid gating, non-identifiable experts", "P1"))],
    "sigmoid_d3": [(STRONG | {"linear"}, None, Theory(Fraction(-1, 2), "sigmoid gating against G-bar",
                                                      "P1 Regime 2"))],
    "softmax_d1": [(STRONG, None, Theory(Fraction(-1, 2), "softmax-type gating, strongly identifiable experts",
                                         "P2/ICML 2024")),
                   (NONIDENTIFIABLE, None, Theory(SLOWER, "softmax-type gating, non-identifiable experts",
                                                  "P2/ICML 2024"))],
    "softmax_dlin": [(STRONG, "over", Theory(Fraction(-1, 4), "parameter error of over-specified atoms (k > k*)",
                                             "P2")),
                     (STRONG, "exact", Theory(Fraction(-1, 2), "parameter error, exactly specified (k = k*)",
                                              "P2")),
                     (NONIDENTIFIABLE, None, Theory(SLOWER, "softmax-type gating, non-identifiable experts",
                                                    "P2"))],
    "topk": [(STRONG, None, Theory(Fraction(-1, 2), "top-K sparse softmax, strongly identifiable experts", "P3"))],
    # the per-cell errors (src/loss/cells.c): the cells the papers' rates are about, kept apart
    "cells_exact": [(STRONG | {"linear"}, "misspecified", Theory(Fraction(-1, 2), "exactly specified cells of G-bar "
                                                                 "(every cell has one atom)", "P1 Regime 2")),
                    (STRONG, None, Theory(Fraction(-1, 2), "exactly specified cells, strongly identifiable experts",
                                          "P1, P2"))],
    "cells_over": [(STRONG, "over", Theory(Fraction(-1, 4), "over-specified cells, strongly identifiable experts",
                                           "P1, P2")),
                   (NONIDENTIFIABLE, "over", Theory(SLOWER, "over-specified cells, non-identifiable experts", "P1, P2"))],
    "cells_mass": [(STRONG, None, Theory(Fraction(-1, 2), "the cells' masses, strongly identifiable experts", "P1, P2"))],
}


# The Gaussian MoE fitted by maximum likelihood (P3 and the softmax-gating Gaussian MoE papers): exactly
# specified, the parameters converge at the parametric rate; over-specified, at rates set by rbar (the
# solvability of a polynomial system), not given here.
GAUSSIAN_EXACT = Theory(Fraction(-1, 2), "Gaussian MoE by maximum likelihood, exactly specified (k = k*): parametric",
                        "P3; Nguyen et al. 2023")
# P3 over-specified, a cell of two atoms (rbar(2) = 4): beta1 and b at n^-1/(2 rbar), a and sigma at n^-1/rbar
GAUSSIAN_OVER = {"cells_over_beta1": Fraction(-1, 8), "cells_over_b": Fraction(-1, 8), "cells_over_a": Fraction(-1, 4),
                 "cells_over_sigma": Fraction(-1, 4)}
GAUSSIAN_L2 = Theory(Fraction(-1, 2), "Gaussian MoE: the regression function f_G converges with the density (up to log)",
                     "P3")


def theory(loss, expert, k, kstar, matched=True, regime=1, model="regression"):
    """The Theory for a loss of a fit with experts of identifiability class `expert` ("strong", "linear" or
    "constant", as the expert family declares) and k atoms (its target has k* atoms), or None;
    `matched`: the fit has the truth's gating and expert families; `regime`: P1's regime of the truth
    (1: beta1* = 0)."""
    if model == "gaussian":
        if loss in ("l2", "l2_truth") and matched:
            return GAUSSIAN_L2
        if not matched:
            return None
        if loss == "cells_exact" or (k == kstar and loss in ("softmax_d1", "softmax_dlin", "topk", "experts", "experts_mass")):
            return GAUSSIAN_EXACT
        if k == kstar + 1 and loss in GAUSSIAN_OVER:
            return Theory(GAUSSIAN_OVER[loss], "Gaussian MoE, over-specified by one atom: a cell of two atoms (rbar = 4)", "P3")
        return None
    settings = {None, "over" if k > kstar else "exact" if k == kstar else None,
                "matched" if matched else "misspecified", "regime %d" % regime}
    for experts, needs, th in THEORY.get(loss, []):
        if expert in experts and needs in settings:
            return th
    return None
