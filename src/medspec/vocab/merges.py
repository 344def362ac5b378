"""Planning the merges that make a new token reachable.

A BPE tokenizer (a ``tokenizers`` BPE model, or a SentencePiece model of type BPE) only ever produces a token by
merging two adjacent tokens it already produced, starting from single symbols (characters, or bytes for byte-level
BPE). A token added to the vocabulary without such a path is dead: the tokenizer never emits it. The
:class:`MergePlanner` builds each new token from two halves that are already tokens, adding any missing
intermediate tokens first, so that merges always come after the merges of their parts.

Example:
    >>> vocab = {"丙", "泊", "酚"}
    >>> planner = MergePlanner(vocab.__contains__)
    >>> planner.add(["丙", "泊", "酚"])
    ['泊酚', '丙泊酚']
    >>> [(m.left, m.right) for m in planner.merges]
    [('泊', '酚'), ('丙', '泊酚')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Merge", "MergePlanner"]


@dataclass(frozen=True)
class Merge:
    """A BPE merge rule: ``left`` and ``right`` adjacent become ``left + right``."""

    left: str
    right: str

    @property
    def result(self) -> str:
        """The merged token."""
        return self.left + self.right


class MergePlanner:
    """Adds tokens with the merges (and intermediate tokens) that make them reachable.

    Args:
        in_base: Whether a token string is in the base vocabulary.
        atoms: Splits a one-unit token that is not in the vocabulary into the symbols it is built from: the bytes
            of a character for byte-level BPE. ``None`` when units are atomic symbols (characters of a
            character-level BPE), which then become new base symbols without a merge.
    """

    def __init__(self, in_base: Callable[[str], bool], *, atoms: Callable[[str], list[str]] | None = None) -> None:
        self._in_base = in_base
        self._atoms = atoms
        self.tokens: list[str] = []  # new tokens, each after the tokens it is made of
        self.merges: list[Merge] = []  # merges for the new tokens, in the same order
        self._added: set[str] = set()

    def known(self, token: str) -> bool:
        """True when the token is in the base vocabulary or was added."""
        return token in self._added or self._in_base(token)

    def add(self, units: Sequence[str]) -> list[str]:
        """Make ``"".join(units)`` a reachable token and return the tokens this added (intermediates first).

        Args:
            units: The token's characters, each in the vocabulary's representation (a character's byte-level
                string for byte-level BPE).
        """
        if not units:
            raise ValueError("cannot add an empty token")
        before = len(self.tokens)
        self._build(list(units))
        return self.tokens[before:]

    def _new(self, token: str, merge: Merge | None) -> str:
        self._added.add(token)
        self.tokens.append(token)
        if merge is not None:
            self.merges.append(merge)
        return token

    def _build(self, units: list[str]) -> str:
        token = "".join(units)
        if self.known(token):
            return token
        if len(units) == 1:
            atoms = self._atoms(token) if self._atoms else [token]
            if len(atoms) == 1:
                return self._new(token, None)
            units = atoms
        split = self._best_split(units)
        left = self._build(units[:split])
        right = self._build(units[split:])
        return self._new(token, Merge(left, right))

    def _best_split(self, units: list[str]) -> int:
        """The split that needs the fewest new tokens in all, the most balanced among equals."""
        memo: dict[tuple[int, int], int] = {}

        def new_tokens(i: int, j: int) -> int:  # tokens to add so that units[i:j] is one token
            if (i, j) not in memo:
                token = "".join(units[i:j])
                if self.known(token):
                    memo[i, j] = 0
                elif j - i == 1:
                    atoms = self._atoms(token) if self._atoms else [token]
                    memo[i, j] = len(atoms) - 1 if len(atoms) > 1 else 1  # a chain of merges, or a new symbol
                else:
                    memo[i, j] = 1 + min(new_tokens(i, k) + new_tokens(k, j) for k in range(i + 1, j))
            return memo[i, j]

        return min(
            range(1, len(units)), key=lambda k: (new_tokens(0, k) + new_tokens(k, len(units)), abs(len(units) - 2 * k))
        )
