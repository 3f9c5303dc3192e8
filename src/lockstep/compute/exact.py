"""Sums that do not depend on the order of their terms: exact, as fractions, then rounded once.

A float sum depends on its grouping (dask#10527), so a sum merged from partitions
would change with their number. Every float64 is an integer times a power of two:
summed as integers per exponent, and merged as fractions, the total is exact.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

MANTISSA_BITS = 53
CHUNK = 512  # 512 mantissas below 2**53 sum below 2**62: no int64 overflow


def exact_sum(values: np.ndarray) -> Fraction:
    """The exact sum of the finite values of `values`."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    mantissas, exponents = np.frexp(values)
    integers = (mantissas * 2.0**MANTISSA_BITS).astype(np.int64)
    total = Fraction(0)
    for exponent in np.unique(exponents):
        chosen = integers[exponents == exponent]
        partial = sum(int(part) for part in np.add.reduceat(chosen, np.arange(0, len(chosen), CHUNK)))
        total += Fraction(partial) * Fraction(2) ** (int(exponent) - MANTISSA_BITS)
    return total
