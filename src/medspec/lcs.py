"""The longest common subsequence, fast: ROUGE-L in the benchmark and the novelty test of Self-Instruct use it.

Bit-parallel (Allison and Dix, 1986; Hyyrö, 2004): bit ``i`` of ``row`` tracks position ``i`` of ``a``, and each
token of ``b`` updates all positions with a few integer operations, so two texts of a few hundred characters take
microseconds rather than the milliseconds of the dynamic-programming table.

Example:
    >>> lcs_length("ABCBDAB", "BDCABA")
    4
    >>> lcs_length(["丙泊酚", "诱导"], ["丙泊酚", "维持", "诱导"])
    2
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["lcs_length"]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (a string is a sequence of characters)."""
    if not a or not b:
        return 0
    positions: dict[str, int] = {}
    for i, token in enumerate(a):
        positions[token] = positions.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full  # a 1 bit is a position not yet matched
    for token in b:
        matches = row & positions.get(token, 0)
        if matches:
            row = ((row + matches) | (row - matches)) & full
    return len(a) - row.bit_count()
