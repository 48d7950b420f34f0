"""Errors per Voronoi cell and per parameter block, in numpy: a second implementation of moerate's
`cells_*` losses (src/loss/cells.c), from the stored parameters of a fit and of its target.

Cells: fitted atom i belongs to the cell A_j of the target atom nearest in omega = (gating location,
eta), eta = [a | sigma | b] (sigma for the Gaussian MoE); ties go to the lowest j.  A cell with one
atom is exactly specified, one with several is over-specified.  Atom weights are exp(beta0)
(softmax-type gatings) or sigmoid(beta0) (sigmoid gating).

    cells_exact  mean over exact cells of |omega_i - omega*_j|
    cells_over   mean over over-specified cells of sqrt(sum w_i |omega_i - omega*_j|^2 / sum w_i)
    cells_mass   mean over all cells of |sum_{A_j} w_i - w*_j|
    cells_<type>_<block>  the same per block: beta1, a, b, sigma, and mass
    cells_shared_*, cells_routed_*  (shared-expert gating) exact, over, mass over the cells of the true
                                    shared (routed) atoms only
"""
import numpy as np

TYPES = ("exact", "over")
BLOCKS = ("beta1", "a", "b", "sigma", "mass")
NAMES = ("cells_exact", "cells_over", "cells_mass") + tuple("cells_%s_%s" % (t, b) for t in TYPES for b in BLOCKS)
PARTS = ("shared", "routed")  # the parts of the shared-expert gating, in the order of their indices
PART_NAMES = tuple("cells_%s_%s" % (p, k) for p in PARTS for k in ("exact", "over", "mass"))


def block_columns(model, block):
    """Columns of eta = [a | sigma | b] holding a block (None: the model has no such block)."""
    na = model.ne - 1
    if block == "a":
        return np.arange(na) if na else None
    if block == "sigma":
        return np.array([na]) if model.ns else None
    if block == "b":
        return np.array([na + model.ns])
    raise ValueError(block)


def cell_errors(model, theta, tmodel, ttheta):
    """{name: value} of every cells_* loss of fit (model, theta) against target (tmodel, ttheta); NaN where a
    type of cell or a block is absent."""
    loc, b0, eta = model.voronoi_view(theta)
    tloc, tb0, teta = tmodel.voronoi_view(ttheta)
    dist2 = ((loc[:, None, :] - tloc[None]) ** 2).sum(-1) + ((eta[:, None, :] - teta[None]) ** 2).sum(-1)
    cell = np.argmin(dist2, axis=1)
    size = np.bincount(cell, minlength=len(tb0))
    w, tw = model.atom_weights(b0), tmodel.atom_weights(tb0)

    def distance(block, i, j):
        if block == "omega":
            return np.sqrt(np.sum((loc[i] - tloc[j]) ** 2) + np.sum((eta[i] - teta[j]) ** 2))
        if block == "beta1":
            return np.sqrt(np.sum((loc[i] - tloc[j]) ** 2))
        cols = block_columns(model, block)
        return np.sqrt(np.sum((eta[i, cols] - teta[j, cols]) ** 2))

    def cell_error(block, j):
        members = np.flatnonzero(cell == j)
        if block == "mass":
            return abs(w[members].sum() - tw[j])
        d = np.array([distance(block, i, j) for i in members])
        if len(members) == 1:
            return d[0]
        return np.sqrt(np.sum(w[members] * d ** 2) / np.sum(w[members]))

    tpart = tmodel.atom_parts()

    def mean_over(kind, block, part=None):
        if block in ("a", "sigma") and block_columns(model, block) is None:
            return np.nan
        if part is not None and tpart is None:
            return np.nan
        cells = [j for j in range(len(tb0)) if (kind == "all" or (kind == "exact" and size[j] == 1)
                                                 or (kind == "over" and size[j] > 1))
                 and (part is None or tpart[j] == part)]
        return float(np.mean([cell_error(block, j) for j in cells])) if cells else np.nan

    out = {"cells_exact": mean_over("exact", "omega"), "cells_over": mean_over("over", "omega"),
           "cells_mass": mean_over("all", "mass")}
    for t in TYPES:
        for b in BLOCKS:
            out["cells_%s_%s" % (t, b)] = mean_over(t, b)
    for part, name in enumerate(PARTS):
        out["cells_%s_exact" % name] = mean_over("exact", "omega", part)
        out["cells_%s_over" % name] = mean_over("over", "omega", part)
        out["cells_%s_mass" % name] = mean_over("all", "mass", part)
    return out
