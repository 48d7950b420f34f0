"""A second, independent implementation of moerate's MoE regression models in numpy.

Used to check the C code (objective values, Jacobians) and by the scipy peer benchmark.
Parameter layout (as in include/moemodel.h), for k atoms in dimension d:

    theta = [atom_0 | ... | atom_{k-1} | globals]
    atom_i = [beta1_i (d) | beta0_i | eta_i],  eta_i = [a_i (d) | b_i]  (FFN, linear)
                                                    or [b_i]            (constant)
    globals: dts with a fitted temperature: [tau];
             hsoftmax: [alpha1_g (d) | alpha0_g] for each group g.
"""

import numpy as np
from scipy.special import erf, expit, softmax

SQRT2 = np.sqrt(2.0)


def activation(name):
    """phi and phi' of an expert family, vectorised."""
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda z: (z > 0).astype(float))
    if name == "gelu":
        return (lambda z: 0.5 * z * (1 + erf(z / SQRT2)),
                lambda z: 0.5 * (1 + erf(z / SQRT2)) + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))
    if name == "sigmoid":
        return expit, (lambda z: expit(z) * (1 - expit(z)))
    if name == "tanh":
        return np.tanh, (lambda z: 1 - np.tanh(z) ** 2)
    if name == "linear":
        return (lambda z: z), (lambda z: np.ones_like(z))
    if name == "softplus":
        return (lambda z: np.logaddexp(0.0, z)), expit
    raise ValueError("unknown expert family %r" % name)


def parse_options(text):
    """'-topk_K 2 -dts_tau 0.5' -> {'topk_K': '2', 'dts_tau': '0.5'}"""
    out, toks = {}, (text or "").split()
    i = 0
    while i < len(toks):
        name = toks[i].lstrip("-")
        nxt = toks[i + 1] if i + 1 < len(toks) else None  # a value: not "-name", or a number or list "-1,0"
        if nxt is not None and (not nxt.startswith("-") or nxt[1:2].isdigit() or nxt[1:2] == "."):
            out[name] = toks[i + 1]
            i += 2
        else:
            out[name] = "1"
            i += 1
    return out


class Model:
    """f_G(x) = sum_i gate_i(x) h(x, eta_i) with analytic Jacobian."""

    def __init__(self, gating, expert, k, d, gating_options="", model="regression"):
        self.gating, self.expert, self.k, self.d, self.model = gating, expert, k, d, model
        # the atoms' noise parameter after eta_i: sigma_i (Gaussian MoE) or the variance nu (contaminated MoE)
        self.ns = 0 if model == "regression" else 1
        opts = parse_options(gating_options) if isinstance(gating_options, str) else dict(gating_options)
        # the contaminated MoE's frozen base (its model_options): density, eta0 (d slopes), nu0, fitted bias
        self.base = opts.get("contam_base", "gaussian")
        self.base_eta = np.array([float(v) for v in opts.get("contam_base_eta", "1").split(",")] + [0.0] * d)[:d]
        if "contam_base_eta" not in opts:
            self.base_eta = np.eye(d)[0]
        self.base_nu = float(opts.get("contam_base_nu", 0.001))
        self.base_bias = opts.get("contam_expert_bias", "0").lower() in ("1", "true", "yes")
        self.K = int(opts.get("topk_K", 2))
        # top-K ranks beta1^T x (moerate's default) or the whole score beta1^T x + beta0 (-topk_rank_affine)
        self.rank_affine = opts.get("topk_rank_affine", "0").lower() in ("1", "true", "yes")
        self.tau = float(opts.get("dts_tau", 1.0))
        self.fit_tau = opts.get("dts_fit_tau", "0").lower() in ("1", "true", "yes")
        self.groups = int(opts.get("hsoftmax_groups", 2 if k % 2 == 0 else 1))
        # cosine router: the K largest scores (0: all k atoms) and the perturbation tau of the norms
        self.cosine_K = int(opts.get("cosine_K", 0)) or k
        self.cosine_tau = float(opts.get("cosine_tau", 0.1))
        # shared experts: the first k1 atoms shared (weights softmax(beta0)), the others routed
        self.shared_k1 = int(opts.get("shared_k1", 1))
        self.shared_router = opts.get("shared_router", "softmax")
        # the shared atoms' own expert family (-shared_expert): every eta block is as long as the longer family's,
        # a shorter one's entries at its ends (first ne_i - 1 first, b last) and the padding between pinned to 0
        shared_expert = opts.get("shared_expert", "") if gating == "shared" else ""
        self.atom_experts = [shared_expert if shared_expert and i < self.shared_k1 else expert for i in range(k)]
        self.ne = max(self.expert_size(f) for f in self.atom_experts)
        self.stride = d + 1 + self.ne + self.ns
        if gating == "dts":
            self.nglobal = 1 if self.fit_tau else 0
        elif gating == "hsoftmax":
            self.nglobal = self.groups * (d + 1)
        else:
            self.nglobal = 0
        self.p = k * self.stride + self.nglobal
        self.pinned = np.zeros(self.p, dtype=bool)
        if gating in ("softmax", "topk", "dts"):
            self.pinned[(k - 1) * self.stride:(k - 1) * self.stride + d + 1] = True
        elif gating == "hsoftmax":
            L = k // self.groups
            for g in range(self.groups):
                i = g * L + L - 1
                self.pinned[i * self.stride:i * self.stride + d + 1] = True
            base = k * self.stride + (self.groups - 1) * (d + 1)
            self.pinned[base:base + d + 1] = True
        elif gating == "cosine":  # the last atom, as softmax; with tau = 0 (unit vectors, no common shift) its beta0 alone
            self.pinned[(k - 1) * self.stride + (0 if self.cosine_tau > 0 else d):(k - 1) * self.stride + d + 1] = True
        elif gating == "shared":  # the shared atoms' beta1 and the last one's beta0; the softmax router's last atom
            for i in range(self.shared_k1):
                self.pinned[i * self.stride:i * self.stride + d] = True
            self.pinned[(self.shared_k1 - 1) * self.stride + d] = True
            if self.shared_router == "softmax":
                self.pinned[(k - 1) * self.stride:(k - 1) * self.stride + d + 1] = True
        for i, f in enumerate(self.atom_experts):
            self.pinned[i * self.stride + d + 1 + self.expert_size(f) - 1:i * self.stride + d + self.ne] = True
        if model == "contaminated" and not self.base_bias:  # the prompt's bias b, the last entry of eta
            self.pinned[d + 1 + self.ne - 1] = True
        self.free = np.flatnonzero(~self.pinned)

    # -- pieces of theta -------------------------------------------------------------
    def atoms(self, theta):
        A = theta[: self.k * self.stride].reshape(self.k, self.stride)
        d = self.d
        return A[:, :d], A[:, d], A[:, d + 1:d + 1 + self.ne]

    def voronoi_view(self, theta):
        """(loc, b0, eta) of the atoms as moerate's Voronoi losses see them: the gating location loc (k x nloc;
        hsoftmax: (alpha1_g, beta1_gl)), beta0 (hsoftmax: alpha0_g + beta0_gl) and eta = [a | sigma | b]."""
        theta = np.asarray(theta, dtype=float)
        b1, b0, e = self.atoms(theta)
        loc = b1
        if self.gating == "hsoftmax":
            G, L, d = self.groups, self.k // self.groups, self.d
            outer = theta[self.k * self.stride:].reshape(G, d + 1)
            group = np.repeat(np.arange(G), L)
            loc, b0 = np.hstack([outer[group, :d], b1]), b0 + outer[group, d]
        if self.gating == "shared":  # the shared atoms' bias is their log weight log omega_i
            k1 = self.shared_k1
            b0 = b0.copy()
            b0[:k1] = b0[:k1] - np.logaddexp.reduce(b0[:k1])
        parts = [e[:, :-1] if self.ne > 1 else np.zeros((self.k, 0))]
        if self.ns:
            parts.append(self.sigmas(theta)[:, None])
        parts.append(e[:, -1:])
        return loc, b0, np.hstack(parts)

    def atom_parts(self):
        """The part of each atom (shared experts: 0 shared, 1 routed), None for a gating with one part."""
        return (np.arange(self.k) >= self.shared_k1).astype(int) if self.gating == "shared" else None

    def atom_weights(self, b0):
        """The atoms' weights in the Voronoi losses: sigmoid(beta0) for sigmoid and normalised sigmoid gating,
        exp(beta0) otherwise."""
        return expit(b0) if self.gating in ("sigmoid", "nsigmoid") else np.exp(b0)

    def sigmas(self, theta):
        """sigma_i of the Gaussian MoE's experts."""
        return theta[: self.k * self.stride].reshape(self.k, self.stride)[:, self.d + 1 + self.ne]

    def log_likelihood(self, theta, X, Y):
        """(1/n) sum_r log sum_i g_i(X_r) N(Y_r; h_i(X_r), sigma_i^2) of the Gaussian MoE, or of the contaminated
        MoE (1/n) sum_r log((1 - g(X_r)) f0(Y_r) + g(X_r) N(Y_r; h(X_r), nu))."""
        if self.model == "contaminated":
            return self.contaminated_log_likelihood(theta, X, Y)
        self.evaluate(theta, X)
        gate, h, sigma = self.last_gate, self.last_h, self.sigmas(theta)
        with np.errstate(divide="ignore"):
            terms = np.log(gate) - 0.5 * np.log(2 * np.pi) - np.log(sigma) - 0.5 * ((Y[:, None] - h) / sigma) ** 2
        top = np.max(terms, axis=1)
        return float(np.mean(top + np.log(np.sum(np.exp(terms - top[:, None]), axis=1))))

    def contaminated_log_likelihood(self, theta, X, Y):
        b1, b0, eta = self.atoms(np.asarray(theta, dtype=float))
        nu = theta[self.d + 1 + self.ne]
        g = expit(X @ b1[0] + b0[0])
        h = self.experts(X, eta)[0][:, 0]
        base = np.concatenate([self.base_eta, np.ones(self.ne - self.d - 1), [0.0]])  # srelu: outer weight 1
        h0 = self.experts(X, base[None, :])[0][:, 0]
        if self.base == "laplace":  # variance nu0: scale sqrt(nu0 / 2)
            s = np.sqrt(self.base_nu / 2)
            lf0 = -np.log(2 * s) - np.abs(Y - h0) / s
        else:
            lf0 = -0.5 * np.log(2 * np.pi * self.base_nu) - 0.5 * (Y - h0) ** 2 / self.base_nu
        l1 = np.log(g) - 0.5 * np.log(2 * np.pi * nu) - 0.5 * (Y - h) ** 2 / nu
        return float(np.mean(np.logaddexp(np.log1p(-g) + lf0, l1)))

    def expert_size(self, family):
        return 1 if family == "constant" else self.d + 2 if family == "srelu" else self.d + 1  # srelu: [a | c | b]

    def experts(self, X, eta):
        """h (n x k) and dh/deta (n x k x ne), each atom by its part's expert family."""
        if len(set(self.atom_experts)) == 1:
            return self.family_experts(self.expert, X, eta)
        n, ne = X.shape[0], self.ne
        h, dh = np.zeros((n, eta.shape[0])), np.zeros((n, eta.shape[0], ne))
        for f in set(self.atom_experts):
            idx = [i for i, g in enumerate(self.atom_experts) if g == f]
            m = self.expert_size(f)
            hf, dhf = self.family_experts(f, X, np.concatenate([eta[idx, :m - 1], eta[idx, -1:]], axis=1))
            h[:, idx] = hf
            dh[:, idx, :m - 1] = dhf[:, :, :m - 1]
            dh[:, idx, ne - 1] = dhf[:, :, m - 1]
        return h, dh

    def family_experts(self, family, X, eta):
        """h (n x m) and dh/deta (n x m x ne_f) of m atoms of one expert family."""
        n = X.shape[0]
        if family == "constant":
            m = eta.shape[0]
            return np.broadcast_to(eta[:, 0], (n, m)).copy(), np.ones((n, m, 1))
        if family == "srelu":  # c max(0, a^T x + b), eta = [a (d) | c | b]; relu'(0) = 0
            d = self.d
            z = X @ eta[:, :d].T + eta[:, -1]
            r, dz = np.maximum(z, 0.0), np.where(z > 0, eta[:, d], 0.0)
            return eta[:, d] * r, np.concatenate([dz[:, :, None] * X[:, None, :], r[:, :, None], dz[:, :, None]], axis=2)
        phi, dphi = activation(family)
        z = X @ eta[:, :-1].T + eta[:, -1]
        dz = dphi(z)
        dh = np.concatenate([dz[:, :, None] * X[:, None, :], dz[:, :, None]], axis=2)
        return phi(z), dh

    def evaluate(self, theta, X, jacobian=False):
        """f (n,) and, with jacobian, J = df/dtheta (n x p, full layout)."""
        theta = np.asarray(theta, dtype=float)
        X = np.atleast_2d(X)
        n, d, k = X.shape[0], self.d, self.k
        b1, b0, eta = self.atoms(theta)
        h, dh = self.experts(X, eta)
        J = np.zeros((n, self.p)) if jacobian else None
        s = X @ b1.T + b0  # scores n x k
        if self.gating == "sigmoid":
            gate = expit(s)
            f = np.sum(gate * h, axis=1)
            dfds = h * gate * (1 - gate)
        elif self.gating == "nsigmoid":  # sigmoid(s_i) / sum_j sigmoid(s_j) = softmax of log sigmoid(s)
            gate = softmax(-np.logaddexp(0.0, -s), axis=1)
            f = np.sum(gate * h, axis=1)
            dfds = gate * expit(-s) * (h - f[:, None])  # sigmoid'(s_i) / S = gate_i (1 - sigmoid(s_i))
        elif self.gating == "shared":  # 1/2 softmax(beta0) over the k1 shared atoms, 1/2 a router over the others
            k1, parts = self.shared_k1, []
            for lo, hi, router in ((0, k1, "softmax"), (k1, k, self.shared_router)):
                ls = -np.logaddexp(0.0, -s[:, lo:hi]) if router == "nsigmoid" else s[:, lo:hi]
                g = softmax(ls, axis=1)
                F = np.sum(g * h[:, lo:hi], axis=1)
                ds = 0.5 * g * (expit(-s[:, lo:hi]) if router == "nsigmoid" else 1.0) * (h[:, lo:hi] - F[:, None])
                parts.append((0.5 * g, F, ds))
            gate = np.hstack([parts[0][0], parts[1][0]])
            f = 0.5 * (parts[0][1] + parts[1][1])
            dfds = np.hstack([parts[0][2], parts[1][2]])
        elif self.gating in ("softmax", "dts"):
            tau = theta[k * self.stride] if (self.gating == "dts" and self.fit_tau) else (self.tau if self.gating == "dts" else 1.0)
            gate = softmax(s / tau, axis=1)
            f = np.sum(gate * h, axis=1)
            dfds = gate * (h - f[:, None]) / tau
            if jacobian and self.gating == "dts" and self.fit_tau:
                J[:, k * self.stride] = -np.sum(dfds * s, axis=1) / tau
        elif self.gating == "topk":
            u = s if self.rank_affine else X @ b1.T
            order = np.argsort(-u, axis=1, kind="stable")  # ties: lower index first
            keep = order[:, : self.K]
            mask = np.zeros_like(u, dtype=bool)
            np.put_along_axis(mask, keep, True, axis=1)
            ss = np.where(mask, s, -np.inf)
            gate = softmax(ss, axis=1)
            f = np.sum(gate * h, axis=1)
            dfds = gate * (h - f[:, None])
        elif self.gating == "hsoftmax":
            G = self.groups
            L = k // G
            outer = theta[k * self.stride:].reshape(G, d + 1)
            P = softmax(X @ outer[:, :d].T + outer[:, d], axis=1)  # n x G
            Q = softmax(s.reshape(n, G, L), axis=2)  # n x G x L
            F = np.sum(Q * h.reshape(n, G, L), axis=2)  # n x G
            f = np.sum(P * F, axis=1)
            gate = (P[:, :, None] * Q).reshape(n, k)
            dfds = gate * (h - np.repeat(F, L, axis=1))
            if jacobian:
                dfdu = P * (F - f[:, None])
                for g in range(G):
                    c = k * self.stride + g * (d + 1)
                    J[:, c:c + d] = dfdu[:, g:g + 1] * X
                    J[:, c + d] = dfdu[:, g]
        elif self.gating == "cosine":
            s, dsdb1 = self.cosine_scores(X, b1, b0)
            order = np.argsort(-s, axis=1, kind="stable")  # ties: lower index first
            mask = np.zeros_like(s, dtype=bool)
            np.put_along_axis(mask, order[:, : self.cosine_K], True, axis=1)
            gate = softmax(np.where(mask, s, -np.inf), axis=1)
            f = np.sum(gate * h, axis=1)
            dfds = gate * (h - f[:, None])  # the selection held fixed
        else:
            raise ValueError("unknown gating family %r" % self.gating)
        if jacobian:
            for i in range(k):
                c = i * self.stride
                J[:, c:c + d] = dfds[:, i:i + 1] * (X if self.gating != "cosine" else dsdb1[:, i, :])
                J[:, c + d] = dfds[:, i]
                J[:, c + d + 1:c + d + 1 + self.ne] = gate[:, i:i + 1] * dh[:, i, :]
        self.last_gate, self.last_h = gate, h
        return (f, J) if jacobian else f

    def cosine_scores(self, X, b1, b0):
        """Scores beta1_i^T x / ((|beta1_i| + tau)(|x| + tau)) + beta0_i of the cosine router (n x k) and their
        derivatives in beta1_i (n x k x d); 0/0 (tau = 0 with beta1_i = 0 or x = 0) counts as a 0 cosine term."""
        tau = self.cosine_tau
        nb = np.linalg.norm(b1, axis=1)  # k
        A, B = nb + tau, np.linalg.norm(X, axis=1) + tau  # k, n
        ok = (B[:, None] > 0) & (A[None, :] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(ok, (X @ b1.T) / (B[:, None] * A[None, :]), 0.0)
            unit = np.where(nb[:, None] > 0, b1 / nb[:, None], 0.0)  # beta1_i / |beta1_i|, 0 at beta1_i = 0
            ds = (X[:, None, :] / B[:, None, None] - cos[:, :, None] * unit[None, :, :]) / A[None, :, None]
        return cos + b0, np.where(ok[:, :, None], ds, 0.0)

    def objective(self, theta, X, Y):
        """(1/2n) sum (f - Y)^2, moerate's objective."""
        r = self.evaluate(theta, X) - Y
        return 0.5 * np.mean(r * r)


def model_from_h5(group):
    """A Model from the attributes of a moerate HDF5 group (/model or /truth/<expert>)."""
    a = group.attrs
    k = int(a["k"]) if "k" in a else int(a["kstar"])
    opts = str(a.get("gating_options", "")) + " " + str(a.get("model_options", ""))
    return Model(str(a["gating"]), str(a["expert"]), k, int(a["d"]), opts, str(a.get("model", "regression")))
