"""The guarantees of an extended vocabulary, checked: what a base tokenizer (and model) meant is what it still means.

An extension must never renumber what the base already had. The check compares a base and an extended tokenizer
(and, when given, what their models say) and reports one finding per guarantee:

* ``ids``: every base token, special or not, keeps its id;
* ``clashes``: no id names two tokens, in the live tokenizer or in its ``tokenizer.json``;
* ``special_tokens``: the named special tokens (bos, eos, pad, unk and the rest) keep their strings and ids;
* ``round_trip``: probe texts (emoji, rare CJK, code, mixed whitespace, Chinese and English) decode as the base
  decodes them;
* ``old_text``: a text whose extended encoding uses no new token encodes to exactly the base's ids;
* ``chat_template``: the template is the same, renders the same text, keeps its special tokens' ids, and a chat in
  old words encodes to the same ids;
* ``model_config`` (with model sides): bos, eos, pad and decoder-start ids of ``config.json`` and
  ``generation_config.json`` are those of the base and name the same tokens; the model has a row for every token;
* ``logits`` (with models): on the base's encodings of the probes, the extended model gives the base model's
  logits for every old token.

``medspec vocab check EXTENDED --base BASE`` runs it on two folders, and ``medspec vocab extend`` runs it before it
writes its output.

Example:
    >>> check = check_folders("out/extended", base="demo")  # doctest: +SKIP
    >>> print(check.describe())  # doctest: +SKIP
    ok    ids: 49152 base tokens keep their ids
    ...
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medspec.errors import MedspecError
from medspec.vocab.probes import CHATS, PROBE_TEXTS, ModelSide, encode, probe_inputs, render

__all__ = ["Finding", "VocabCheck", "VocabCheckError", "check_extension", "check_folders"]

_MAX_SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """One guarantee and whether it holds.

    Attributes:
        name: The guarantee (``ids``, ``clashes``, ...).
        passed: Whether it holds.
        detail: What was counted, or the first breaches.
    """

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class VocabCheck:
    """The findings of one check."""

    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        """True when every guarantee holds."""
        return all(f.passed for f in self.findings)

    def describe(self) -> str:
        """One line per finding: ``ok`` or ``FAIL``, the guarantee and its detail."""
        return "\n".join(f"{'ok' if f.passed else 'FAIL':5} {f.name}: {f.detail}" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"passed": self.passed, "findings": [vars(f) for f in self.findings]}


class VocabCheckError(MedspecError):
    """An extended vocabulary breaks a guarantee; the unchecked output is kept for inspection.

    Args:
        check: The failed check.
        folder: Where the output that failed was left.
    """

    def __init__(self, check: VocabCheck, folder: str | Path) -> None:
        self.check = check
        self.folder = Path(folder)
        failed = "\n".join(f"  {f.name}: {f.detail}" for f in check.findings if not f.passed)
        super().__init__(f"the extended vocabulary breaks a guarantee (output left in {folder}):\n{failed}")


def _shown(items: Sequence[Any]) -> str:
    head = ", ".join(map(str, items[:_MAX_SHOWN]))
    return head + (f" and {len(items) - _MAX_SHOWN} more" if len(items) > _MAX_SHOWN else "")


def _ids_kept(base: Any, extended: Any) -> Finding:
    old = sorted(base.get_vocab().items(), key=lambda item: item[1])
    new_vocab = extended.get_vocab()
    moved = [f"{token!r} {i}->{new_vocab.get(token)}" for token, i in old if new_vocab.get(token) != i]
    ids = [i for _, i in old]
    renamed = [  # an id that now reads as another token: a clash with a base id
        f"{i}: {before!r}->{after!r}"
        for i, before, after in zip(
            ids, base.convert_ids_to_tokens(ids), extended.convert_ids_to_tokens(ids), strict=True
        )
        if before != after
    ]
    if moved or renamed:
        detail = f"{len(moved)} base tokens moved, {len(renamed)} base ids read as another token"
        return Finding("ids", False, f"{detail}: {_shown(moved + renamed)}")
    return Finding("ids", True, f"{len(old)} base tokens keep their ids")


def _no_clashes(extended: Any) -> Finding:
    data = json.loads(extended.backend_tokenizer.to_str())
    names: dict[int, set[str]] = {}
    for token, token_id in data["model"].get("vocab", {}).items():
        names.setdefault(token_id, set()).add(token)
    live = extended.backend_tokenizer
    misplaced = []
    for added in data.get("added_tokens", []):
        names.setdefault(added["id"], set()).add(added["content"])
        if live.token_to_id(added["content"]) != added["id"]:
            misplaced.append(f"{added['content']!r} file {added['id']} live {live.token_to_id(added['content'])}")
    clashing = {i for i, n in names.items() if len(n) > 1}
    clashing |= {i for i, n in Counter(extended.get_vocab().values()).items() if n > 1}
    if clashing or misplaced:
        clashes = [f"{i}: {sorted(names.get(i, ()))}" for i in sorted(clashing)]
        detail = f"{len(clashing)} ids name two tokens, {len(misplaced)} added tokens live elsewhere than the file says"
        return Finding("clashes", False, f"{detail}: {_shown(clashes + misplaced)}")
    return Finding("clashes", True, f"{len(names)} ids, each names one token, in tokenizer.json and live")


def _special_tokens(base: Any, extended: Any) -> Finding:
    breaches = []
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        before = (getattr(base, name), getattr(base, f"{name}_id"))
        after = (getattr(extended, name), getattr(extended, f"{name}_id"))
        if before != after:
            breaches.append(f"{name} {before} -> {after}")
    before_all = dict(zip(base.all_special_tokens, base.all_special_ids, strict=True))
    after_all = dict(zip(extended.all_special_tokens, extended.all_special_ids, strict=True))
    breaches += [f"{t!r} {i} -> {after_all.get(t)}" for t, i in before_all.items() if after_all.get(t) != i]
    breaches += [f"new special token {t!r}" for t in after_all.keys() - before_all.keys()]
    added_after = extended.added_tokens_decoder
    breaches += [  # every added token (reserved ones too) keeps its id, string and special flag
        f"added {token.content!r} {i} -> {added_after[i].content if i in added_after else None!r}"
        for i, token in base.added_tokens_decoder.items()
        if i not in added_after or (added_after[i].content, added_after[i].special) != (token.content, token.special)
    ]
    if breaches:
        return Finding("special_tokens", False, _shown(breaches))
    detail = f"{len(before_all)} named special tokens and {len(base.added_tokens_decoder)} added tokens"
    return Finding("special_tokens", True, f"{detail} keep their strings and ids")


def _round_trip(base: Any, extended: Any, texts: Sequence[str]) -> Finding:
    breaches, exact = [], 0
    for text in texts:
        ours = extended.decode(encode(extended, text))
        if ours != base.decode(encode(base, text)):
            breaches.append(repr(text[:40]))
        exact += ours == text
    if breaches:
        return Finding("round_trip", False, f"decodes differently from the base: {_shown(breaches)}")
    return Finding("round_trip", True, f"{len(texts)} probe texts decode as the base decodes them ({exact} exactly)")


def _old_text(base: Any, extended: Any, texts: Sequence[str]) -> Finding:
    new_ids = set(extended.get_vocab().values()) - set(base.get_vocab().values())
    old = [t for t in texts if not new_ids.intersection(encode(extended, t))]
    breaches = [repr(t[:40]) for t in old if encode(extended, t) != encode(base, t)]
    if breaches:
        return Finding("old_text", False, f"texts without new tokens encode differently: {_shown(breaches)}")
    return Finding("old_text", True, f"{len(old)} of {len(texts)} probe texts use no new token and encode as before")


def _chat_template(base: Any, extended: Any) -> Finding:
    if base.chat_template != extended.chat_template:
        return Finding("chat_template", False, "the chat template changed")
    if not base.chat_template:
        return Finding("chat_template", True, "neither tokenizer has a chat template")
    special = set(base.all_special_ids) | set(base.added_tokens_decoder)
    breaches = []
    for name, messages in CHATS.items():
        text = render(base, messages)
        if render(extended, messages) != text:
            breaches.append(f"{name} chat renders differently")
            continue
        before, after = encode(base, text), encode(extended, text)
        if name == "old words" and before != after:
            breaches.append(f"{name} chat encodes to other ids")
        if [i for i in before if i in special] != [i for i in after if i in special]:
            breaches.append(f"{name} chat: its special tokens have other ids")
    if breaches:
        return Finding("chat_template", False, "; ".join(breaches))
    return Finding("chat_template", True, "same template; chats render alike, old words encode to the same ids")


def _model_config(base: Any, extended: Any, base_side: ModelSide, extended_side: ModelSide) -> Finding:
    breaches = []
    for key, ids in extended_side.special_ids.items():
        if key in base_side.special_ids and base_side.special_ids[key] != ids:
            breaches.append(f"{key} {list(base_side.special_ids[key])} -> {list(ids)}")
        for token_id in ids:
            before = base.convert_ids_to_tokens(token_id) if token_id < len(base) else None
            after = extended.convert_ids_to_tokens(token_id) if token_id < len(extended) else None
            if after is None or before != after:
                breaches.append(f"{key} {token_id} names {before!r} in the base, {after!r} now")
    breaches += [f"{key} missing" for key in base_side.special_ids.keys() - extended_side.special_ids.keys()]
    if extended_side.vocab_size is not None and extended_side.vocab_size < len(extended):
        breaches.append(f"config.vocab_size {extended_side.vocab_size} < {len(extended)} tokens")
    if breaches:
        return Finding("model_config", False, _shown(breaches))
    keys = ", ".join(sorted(extended_side.special_ids)) or "no special ids"
    return Finding("model_config", True, f"{keys} agree with the base; rows {extended_side.vocab_size}")


def _same_logits(base: Any, base_side: ModelSide, extended_side: ModelSide) -> Finding:
    worst = 0.0
    for before, after in zip(base_side.logits, extended_side.logits, strict=True):
        old = min(before.shape[-1], len(base))  # (T, V_old): the columns of tokens the base tokenizer has
        scale = max(1.0, float(before[:, :old].abs().max()))
        worst = max(worst, float((after[:, :old] - before[:, :old]).abs().max()) / scale)
    passed = worst <= 1e-4  # float32 rounding of a differently shaped output matrix, far below any real change
    detail = f"largest relative difference {worst:.2e} over {len(base_side.logits)} probe inputs"
    return Finding("logits", passed, detail if passed else f"{detail}: the model no longer computes the same function")


def check_extension(
    base: Any,
    extended: Any,
    *,
    base_side: ModelSide | None = None,
    extended_side: ModelSide | None = None,
    texts: Sequence[str] = PROBE_TEXTS,
) -> VocabCheck:
    """Check an extended tokenizer (and model) against its base.

    Args:
        base: The base tokenizer.
        extended: The extended tokenizer (best: reloaded from the saved folder with ``AutoTokenizer``).
        base_side: The base model's configs and probe logits (:meth:`ModelSide.read`), for the model checks.
        extended_side: The same for the extended model, read with the same probe inputs.
        texts: Probe texts for the round-trip and old-text checks.

    Returns:
        The findings; :attr:`VocabCheck.passed` is False on any breach.
    """
    findings = [
        _ids_kept(base, extended),
        _no_clashes(extended),
        _special_tokens(base, extended),
        _round_trip(base, extended, texts),
        _old_text(base, extended, texts),
        _chat_template(base, extended),
    ]
    if base_side is not None and extended_side is not None and (extended_side.special_ids or extended_side.vocab_size):
        findings.append(_model_config(base, extended, base_side, extended_side))
        if base_side.logits and extended_side.logits:
            findings.append(_same_logits(base, base_side, extended_side))
    return VocabCheck(tuple(findings))


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def check_folders(
    extended: str | Path,
    *,
    base: str | Path,
    gguf_file: str | None = None,
    with_models: bool = True,
) -> VocabCheck:
    """Check an extended folder against its base (a folder, a ``.gguf`` file or ``"demo"``).

    Args:
        extended: The folder ``medspec vocab extend`` (or ``VocabExtension.save_pretrained``) wrote.
        base: The base model or tokenizer.
        gguf_file: The GGUF file inside ``base`` when it is a folder holding one.
        with_models: Load both models when both have weights and compare their logits.

    Returns:
        The findings.
    """
    from medspec.model_loading import load_model_and_tokenizer, load_tokenizer, resolve_model_path

    base_folder, gguf = resolve_model_path(base, gguf_file)
    base_tokenizer = load_tokenizer(base, gguf_file=gguf_file)
    extended_tokenizer = load_tokenizer(extended)
    inputs = probe_inputs(base_tokenizer)
    if with_models and _has_weights(Path(extended)) and (gguf or _has_weights(base_folder)):
        base_model, _ = load_model_and_tokenizer(base, gguf_file=gguf_file)
        base_side = ModelSide.read(model=base_model, inputs=inputs)
        del base_model
        extended_model, _ = load_model_and_tokenizer(extended)
        extended_side = ModelSide.read(folder=extended, model=extended_model, inputs=inputs)
    else:
        base_side = ModelSide.read(folder=None if gguf else base_folder)
        extended_side = ModelSide.read(folder=extended)
    return check_extension(base_tokenizer, extended_tokenizer, base_side=base_side, extended_side=extended_side)
