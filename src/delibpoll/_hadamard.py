"""Hadamard matrices as R ``survey:::hadamard`` (kernel layer), for BRR and Fay replicates.

R's rule, ported step by step so that every size gives R's very matrix (0/1 coded, first row
and column all 1): four precooked matrices (orders 4, 16, 28 and 36; 28 and 36 are the
matrices R ships, from N. J. A. Sloane's library of Hadamard matrices), Paley's quadratic
residue construction for ``p + 1`` with ``p`` a prime congruent to 3 mod 4 (R's list of such
primes goes to 7919), and the doubling ``[[H, H], [H, 1 - H]]``. Checked against R for
``n = 1..80`` and a few larger sizes (``tests/reference/data/hadamard_sizes.csv``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["hadamard"]

_H4 = np.array([[1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]], dtype=np.int8)

_H28 = (
    "1111111111111111111111111111",
    "1001110001110001110001111000",
    "1000001111001101001101111000",
    "1000001110110010111001100110",
    "1001101000001111100011010110",
    "1001010100101100010110101110",
    "1000110011010010001110011110",
    "0101100010101010011111110000",
    "0100010110110101100111010100",
    "0100011011001011110010101100",
    "0101011000010111011101001010",
    "0100101101100100111010011010",
    "0101100101011001101100100110",
    "0010110100011110101011101000",
    "0011011001100110101100110100",
    "0010101100111011010100011100",
    "0011000111010111010010110010",
    "0011001011111000100111001010",
    "0010110011101101011001000110",
    "1110101001010100010111100100",
    "1111000101100011001011001100",
    "1111000010011100111000011100",
    "1110010101001010110101010010",
    "1110011000111001001010110010",
    "1110100010100111100100101010",
    "1101111111111110000000000000",
    "1011111110000001111110000000",
    "0111111110000000000001111110",
)

_H36 = (
    "111111111111111111111111111111111111",
    "010111000111110111001000010101100100",
    "101110001111101110010000101011001000",
    "011100011111011100100001010110010010",
    "111000111110111001000010101100100100",
    "110001111101110010000101011001001010",
    "100011111011100100001010110010010110",
    "000111110111001000010101100100101110",
    "001111101110010000101011001001011100",
    "011111011100100001010110010010111000",
    "111110111001000010101100100101110000",
    "111101110010000101011001001011100010",
    "111011100100001010110010010111000110",
    "110111001000010101100100101110001110",
    "101110010000101011001001011100011110",
    "011100100001010110010010111000111110",
    "111001000010101100100101110001111100",
    "110010000101011001001011100011111010",
    "100100001010110010010111000111110110",
    "001000010101100100101110001111101110",
    "010000101011001001011100011111011100",
    "100001010110010010111000111110111000",
    "000010101100100101110001111101110010",
    "000101011001001011100011111011100100",
    "001010110010010111000111110111001000",
    "010101100100101110001111101110010000",
    "101011001001011100011111011100100000",
    "010110010010111000111110111001000010",
    "101100100101110001111101110010000100",
    "011001001011100011111011100100001010",
    "110010010111000111110111001000010100",
    "100100101110001111101110010000101010",
    "001001011100011111011100100001010110",
    "010010111000111110111001000010101100",
    "100101110001111101110010000101011000",
    "001011100011111011100100001010110010",
)

_SIZES = (4, 16, 28, 36)
_MAX_PRIME = 7919


def _bits(rows: tuple[str, ...]) -> np.ndarray:
    return np.array([[int(c) for c in r] for r in rows], dtype=np.int8)


def _double(h: np.ndarray) -> np.ndarray:
    return np.block([[h, h], [h, 1 - h]]).astype(np.int8)


def _precooked(i: int) -> np.ndarray:
    if i == 0:
        return _H4.copy()
    if i == 1:
        return _double(_double(_H4))
    return _bits(_H28 if i == 2 else _H36)


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % k for k in range(2, math.isqrt(n) + 1))


def _small_prime(n: int) -> bool:
    """R's ``small.primes``: primes p = 3 mod 4 up to 7919."""
    return n % 4 == 3 and n <= _MAX_PRIME and _is_prime(n)


def _paley_prime(p: int) -> np.ndarray:
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    res = {0, 1} | {(i * i) % p for i in range(2, (p - 1) // 2 + 1)}
    core = np.where(np.isin(m, list(res)), 0, 1)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = core
    return out


def _paley(n: int, nmax: int | None = None) -> np.ndarray | None:
    """R ``survey:::paley(n, nmax)``: a Paley matrix of order >= n + 1, or None."""
    if nmax is None:
        nmax = 2 * n
    nceil = nn = n + 4 - (n % 4)
    if (n % 4) + 4 == (n % 8):
        while nn % 8 == 0:
            nn //= 2
        if _small_prime(nn - 1):
            m = _paley_prime(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > _MAX_PRIME:
        return None
    p = next(q for q in range(n, _MAX_PRIME + 1) if _small_prime(q))
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley(nceil + 3)
    if p > nmax:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> np.ndarray:
    """R ``survey:::hadamard(n)``: a 0/1 Hadamard matrix with more than ``n`` rows.

    Parameters
    ----------
    n : int
        Number of strata (the matrix has at least ``n + 1`` rows; row ``1 + s`` serves
        stratum ``s``).

    Returns
    -------
    numpy.ndarray
        Square ``int8`` matrix of 0 and 1; its order is the number of BRR replicates.

    Examples
    --------
    >>> hadamard(3)
    array([[1, 1, 1, 1],
           [1, 0, 1, 0],
           [1, 1, 0, 0],
           [1, 0, 0, 1]], dtype=int8)
    >>> hadamard(20).shape
    (24, 24)
    """
    m = n - n % 4
    for i, s in enumerate(_SIZES):
        if m < s <= m + 4:
            return _precooked(i)
    if all(m < s for s in _SIZES):
        return _precooked(0)
    sizes = [s * 2 ** max(0, math.ceil(math.log2((n + 1) / s))) for s in _SIZES]
    best = int(np.argmin([s - n for s in sizes]))
    h: np.ndarray | None = None
    if sizes[best] - n > 4:
        h = _paley(n, sizes[best])
    if h is None:
        h = _precooked(best)
        for _ in range(math.ceil(math.log2(sizes[best] / _SIZES[best]))):
            h = _double(h)
    return h
