"""Continuation log-probabilities with a local model, computing shared prompt prefixes once.

A likelihood judge asks one question per rubric aspect about the same item: the prompts share a long prefix (system
prompt and the item) and differ in a short tail. Such prompts are grouped; each group's prefix runs once with a key/
value cache, and every (tail, continuation) row runs on a copy of that cache. Prompts that share nothing run as
usual: every continuation's first token is read from one pass over its prompt, and only the rest of a longer
continuation needs the prompt again. A prompt with several longer continuations (a cloze question's option texts)
runs once as a cached prefix, and its continuations run together on copies of the cache. Rows run longest first, as
many per pass as ``batch_size`` allows and as keep the logits read within a budget (on a CPU, a long answer's
logits over a large vocabulary cost more memory traffic than batching saves).

:func:`text_logprobs` scores plain text (perplexity documents) in windows of at most ``window`` tokens that move by
``stride``: every token is scored once, with at least ``window - stride`` tokens of context after the first window
(the sliding-window perplexity of the transformers documentation, without its one unscored token per window), and
windows of many texts share a batch.

Example:
    >>> groups([[1, 2, 3, 4], [1, 2, 3, 5], [1, 9, 9, 9], [9, 9]], min_shared=2)
    [([0, 1], 3), ([2], 0), ([3], 0)]
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["continuation_logprobs", "groups", "text_logprobs", "windows"]

LOGIT_BUDGET = (
    1024  # logit rows (one per scored token) a pass of continuation scoring reads at most, beyond its first row
)


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def groups(prompts: Sequence[Sequence[int]], *, min_shared: int) -> list[tuple[list[int], int]]:
    """Consecutive prompts that share most of their beginning, with the prefix length to cache.

    A prompt joins its predecessor's group when they share at least ``min_shared`` leading tokens and at least half
    of the shorter one (a common system prompt alone does not make one item's questions of the next item's). The
    cached prefix stops one token short of the shortest member, so every member keeps a tail to run. A prompt that
    shares too little forms a group of its own with prefix 0 (nothing cached).
    """
    found: list[tuple[list[int], int]] = []
    members, shared = [0], len(prompts[0]) if prompts else 0
    for j in range(1, len(prompts) + 1):
        common = _shared(prompts[j - 1], prompts[j]) if j < len(prompts) else 0
        if j < len(prompts) and common >= max(min_shared, min(len(prompts[j - 1]), len(prompts[j])) // 2):
            members.append(j)
            shared = min(shared, common)
            continue
        prefix = min(shared, *(len(prompts[m]) - 1 for m in members)) if len(members) > 1 else 0
        found.append((members, prefix))
        members, shared = [j], len(prompts[j]) if j < len(prompts) else 0
    return found


def _padded(rows: Sequence[Sequence[int]], pad: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, rows))
    ids = torch.tensor([list(r) + [pad] * (width - len(r)) for r in rows], device=device)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device)
    return ids, mask


def _row_logits(model: Any, rows: list[list[int]], positions: list[int], pad: int, cache: Any = None, offset: int = 0):
    """The logits at the given positions of each row, after an optional cached prefix.

    Returns:
        (B, len(positions), V) in float32: only the positions asked for go through the output layer, which for a
        small model with a large vocabulary is most of the cost.
    """
    ids, mask = _padded(rows, pad, model.device)
    options: dict[str, Any] = {"logits_to_keep": torch.tensor(positions, device=model.device)}
    if cache is not None:
        cache = copy.deepcopy(cache)
        cache.batch_repeat_interleave(len(rows))
        ones = torch.ones(len(rows), offset, dtype=mask.dtype, device=mask.device)
        mask = torch.cat([ones, mask], dim=1)  # (B, P + T)
        position_ids = offset + torch.arange(ids.shape[1], device=ids.device)
        options.update(cache=cache, position_ids=position_ids.expand(len(rows), -1))
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=mask, use_cache=cache is not None, **options).logits.float()


def _token_logprobs(
    logits: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor, tokens: torch.Tensor
) -> torch.Tensor:
    """``log p(token)`` at each (row, column) of a logits tensor: the logit minus the log-sum-exp of its row.

    Every scorer here reads log-probabilities this way, so a text scores the same on every path.
    """
    picked = logits[rows, columns]  # (N, V)
    return picked.gather(1, tokens[:, None]).squeeze(1) - torch.logsumexp(picked, dim=-1)


def _score_group(
    model: Any,
    prompts: Sequence[list[int]],
    options: Sequence[list[list[int]]],
    members: list[int],
    prefix: int,
    pad: int,
    batch_size: int,
) -> dict[tuple[int, int], float]:
    # Each (prompt, continuation) is scored on the row "tail + continuation minus its last token": the token at
    # position len(tail) - 1 + k predicts continuation token k. Continuations of one token share the tail's row.
    rows: dict[tuple[int, ...], int] = {}
    wanted: list[tuple[int, int, int, int, int]] = []  # (prompt, option, row, position, token)
    for i in members:
        tail = prompts[i][prefix:]
        for j, continuation in enumerate(options[i]):
            row = rows.setdefault(tuple(tail + continuation[:-1]), len(rows))
            wanted += [(i, j, row, len(tail) - 1 + k, token) for k, token in enumerate(continuation)]
    # A row that begins another row ("tail" and "tail + 1" for a score of 10) is read from the longer one.
    sequences = list(rows)
    longest = {r: max((t for t in sequences if t[: len(r)] == r), key=len) for r in sequences}
    kept = {seq: k for k, seq in enumerate(dict.fromkeys(longest.values()))}
    wanted = [(i, j, kept[longest[sequences[row]]], position, token) for i, j, row, position, token in wanted]
    rows = kept
    cache = None
    if prefix:
        with torch.inference_mode():  # only the cache is needed: one logit row, not the prefix's hundreds
            prefix_ids = torch.tensor([prompts[members[0]][:prefix]], device=model.device)
            cache = model(input_ids=prefix_ids, use_cache=True, logits_to_keep=1).cache
    # Longest rows first, so a batch holds rows of similar length and little padding.
    by_length = sorted(rows, key=len, reverse=True)
    place = {rows[seq]: k for k, seq in enumerate(by_length)}
    wanted = [(i, j, place[row], position, token) for i, j, row, position, token in wanted]
    ordered = [list(r) for r in by_length]
    read = [0] * len(ordered)  # logit positions read per row
    for _, _, row, _, _ in wanted:
        read[row] += 1
    scores: dict[tuple[int, int], float] = {}
    start = 0
    while start < len(ordered):
        stop = start + 1
        while stop < min(len(ordered), start + batch_size) and sum(read[start : stop + 1]) <= LOGIT_BUDGET:
            stop += 1
        chunk = [w for w in wanted if start <= w[2] < stop]
        positions = sorted({w[3] for w in chunk})
        column = {p: k for k, p in enumerate(positions)}
        logits = _row_logits(model, ordered[start:stop], positions, pad, cache, prefix)
        device = logits.device
        picked = _token_logprobs(
            logits,
            torch.tensor([w[2] - start for w in chunk], device=device),
            torch.tensor([column[w[3]] for w in chunk], device=device),
            torch.tensor([w[4] for w in chunk], device=device),
        ).tolist()
        for (i, j, *_), value in zip(chunk, picked, strict=True):
            scores[i, j] = scores.get((i, j), 0.0) + value
        start = stop
    return scores


def continuation_logprobs(
    model: Any,
    prompts: Sequence[list[int]],
    options: Sequence[list[list[int]]],
    *,
    pad_token_id: int,
    batch_size: int,
    min_shared: int = 32,
) -> list[list[float]]:
    """For each prompt, the summed log-probability of each continuation (all as token ids).

    Args:
        model: A causal LM.
        prompts: Prompt token ids.
        options: For each prompt, the continuations' token ids (each at least one token).
        pad_token_id: Padding id.
        batch_size: Rows per forward pass.
        min_shared: Leading tokens consecutive prompts must share to have their prefix computed once.
    """
    scores = [[0.0] * len(o) for o in options]
    singles: list[int] = []
    for members, prefix in groups(prompts, min_shared=min_shared):
        if prefix == 0 and len(prompts[members[0]]) > 1 and sum(len(o) > 1 for o in options[members[0]]) > 1:
            prefix = len(prompts[members[0]]) - 1  # a cloze question: its options share the whole prompt
        if prefix == 0:
            singles += members
            continue
        for (i, j), value in _score_group(model, prompts, options, members, prefix, pad_token_id, batch_size).items():
            scores[i][j] = value
    # Prompts that share nothing are batched with each other, with nothing cached.
    for (i, j), value in _score_group(model, prompts, options, singles, 0, pad_token_id, batch_size).items():
        scores[i][j] = value
    return scores


def windows(length: int, *, window: int, stride: int) -> list[tuple[int, int, int]]:
    """The windows that score positions ``1..length-1`` of a sequence, each once: ``(start, end, first_target)``.

    The first window scores every position it holds; each later one scores the next ``stride`` positions and
    reaches back to hold ``window`` tokens, so every score has at least ``window - stride`` tokens of context
    (``stride < window``: a window's first token is context only). lm-evaluation-harness's rolling log-likelihood
    with ``max_length = L`` is ``window = L + 1, stride = L``.

    Example:
        >>> windows(10, window=6, stride=3)
        [(0, 6, 1), (3, 9, 6), (4, 10, 9)]
    """
    if not 1 <= stride < window:
        raise ValueError(f"stride must be in 1..window - 1 ({window - 1}), got {stride}")
    end = min(window, length)
    found = [(0, end, 1)]
    while end < length:
        scored, end = end, min(end + stride, length)
        found.append((max(0, end - window), end, scored))
    return found


def text_logprobs(
    model: Any,
    texts: Sequence[list[int]],
    *,
    start_token_id: int,
    window: int,
    stride: int,
    pad_token_id: int,
    token_budget: int = 2048,
) -> list[float]:
    """The summed log-probability of every token of each text (token ids), after a start token.

    Args:
        model: A causal LM.
        texts: Token ids of each text.
        start_token_id: The token every text follows (BOS, or EOS for models without one), so that its first
            token is scored too.
        window: Longest window, in tokens (at most the model's context).
        stride: How far a window moves, less than ``window``; ``window - stride`` tokens of context precede each
            later window's scores.
        pad_token_id: Padding id.
        token_budget: Tokens per forward pass (window rows are batched up to it).

    Raises:
        ValueError: When ``stride`` is not in ``1..window - 1``.
    """
    rows: list[tuple[int, list[int], int]] = []  # (text, ids, first target within the row)
    for index, tokens in enumerate(texts):
        sequence = [start_token_id, *tokens]
        rows += [
            (index, sequence[a:b], first - a) for a, b, first in windows(len(sequence), window=window, stride=stride)
        ]
    rows.sort(key=lambda row: -len(row[1]))
    totals = [0.0] * len(texts)
    start = 0
    while start < len(rows):
        per_pass = max(1, token_budget // len(rows[start][1]))
        chunk = rows[start : start + per_pass]
        ids, mask = _padded([ids for _, ids, _ in chunk], pad_token_id, model.device)
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits  # (B, T, V)
        for k, (index, sequence, first) in enumerate(chunk):
            columns = torch.arange(first - 1, len(sequence) - 1, device=logits.device)  # position p predicts p + 1
            targets = torch.tensor(sequence[first:], device=logits.device)
            first_row = torch.zeros_like(columns)
            totals[index] += float(_token_logprobs(logits[k : k + 1].float(), first_row, columns, targets).sum())
        start += len(chunk)
    return totals
