"""The claims table (analysis/claims.toml): the papers' claims and the spec, pair and loss that test each."""
import os
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "claims.toml")
KINDS = ("rate", "slower", "faster", "none")
FIELDS = ("id", "paper", "theorem", "gating", "expert", "regime", "specification", "estimator", "cells", "block",
          "rate", "test")


@dataclass(frozen=True)
class Test:
    """One group of a results file: results/<spec>.h5, its (gating, expert) pair, a loss column and the estimator."""

    spec: str
    gating: str
    expert: str
    loss: str
    estimator: str

    def __str__(self):
        return "%s: %s x %s, %s (%s)" % (self.spec, self.gating, self.expert, self.loss, self.estimator)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    theorem: str
    gating: str
    expert: str
    regime: str
    specification: str
    estimator: str
    cells: str
    block: str
    rate: str
    test: Test
    against: Test = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def kind(self):
        """"rate" (a polynomial exponent), "slower" (slower than any polynomial), "faster" (a comparison: test
        converges faster than against) or "none" (no rate stated)."""
        return self.rate if self.rate in ("slower", "faster", "none") else "rate"

    @property
    def exponent(self):
        """The theory exponent as a float (None unless kind is "rate")."""
        return float(Fraction(self.rate)) if self.kind == "rate" else None


class ClaimsError(Exception):
    """The claims table is malformed; the message is one line."""


def _test(value, where):
    if not (isinstance(value, list) and len(value) == 5 and all(isinstance(v, str) for v in value)):
        raise ClaimsError("%s: a test is [spec, gating, expert, loss, estimator]" % where)
    return Test(*value)


def load(path=TABLE):
    """The claims of the table, in its order; raises ClaimsError naming the first bad entry."""
    with open(path, "rb") as f:
        try:
            doc = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ClaimsError("%s: %s" % (path, e)) from None
    out, seen = [], set()
    for i, c in enumerate(doc.get("claim", [])):
        where = "%s: claim %d (%s)" % (path, i + 1, c.get("id", "no id"))
        missing = [k for k in FIELDS if k not in c]
        if missing:
            raise ClaimsError("%s: missing %s" % (where, ", ".join(missing)))
        if c["id"] in seen:
            raise ClaimsError("%s: the id is used twice" % where)
        seen.add(c["id"])
        rate = c["rate"]
        if rate not in ("slower", "faster", "none"):
            try:
                Fraction(rate)
            except (ValueError, ZeroDivisionError):
                raise ClaimsError("%s: rate %r is not an exponent, slower, faster or none" % (where, rate)) from None
        if (rate == "faster") != ("against" in c):
            raise ClaimsError("%s: a comparison (rate faster) and only it has `against`" % where)
        known = set(FIELDS) | {"against", "note"}
        out.append(Claim(**{k: c[k] for k in FIELDS if k != "test"}, test=_test(c["test"], where),
                         against=_test(c["against"], where) if "against" in c else None, note=c.get("note", ""),
                         extra={k: v for k, v in c.items() if k not in known}))
    if not out:
        raise ClaimsError("%s: no [[claim]] entries" % path)
    return out


def specs(claims):
    """The specs the claims need, in the order they first appear."""
    names = []
    for c in claims:
        for t in (c.test, c.against):
            if t and t.spec and t.spec not in names:
                names.append(t.spec)
    return names
