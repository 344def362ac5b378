"""Chat formatting shared by training, generation and evaluation.

Every step that turns records into model text goes through the tokenizer's chat template, so a model is evaluated
in the format it was trained in. A base model without a template gets :data:`DEFAULT_CHAT_TEMPLATE` (ChatML, the
format of Qwen and SmolLM2), and the template used is saved with each checkpoint.

Example:
    >>> from medspec.data.schema import Instruction
    >>> record = Instruction(id="1", instruction="腰麻后头痛怎么办？", output="平卧、补液。",
    ...                      history=[("你好", "您好！")])
    >>> [m["role"] for m in record_messages(record)]
    ['user', 'assistant', 'user', 'assistant']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medspec.data.schema import Instruction, PreferencePair

__all__ = ["DEFAULT_CHAT_TEMPLATE", "Message", "ensure_chat_template", "prompt_messages", "record_messages"]

Message = dict[str, str]

# ChatML: what Qwen and SmolLM2 use, so models trained from a template-less base stay compatible with the common
# serving stacks (vLLM, llama.cpp, Ollama) that know it.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def ensure_chat_template(tokenizer: Any) -> str:
    """Give the tokenizer :data:`DEFAULT_CHAT_TEMPLATE` when it has none, and return the template in use.

    The ChatML markers are added as special tokens when the vocabulary lacks them, so they are never split.
    """
    if not getattr(tokenizer, "chat_template", None):
        missing = [t for t in ("<|im_start|>", "<|im_end|>") if t not in tokenizer.get_vocab()]
        if missing:
            tokenizer.add_special_tokens({"additional_special_tokens": missing})
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or "<|im_end|>"
    return tokenizer.chat_template


def prompt_messages(
    instruction: str, *, history: Sequence[tuple[str, str]] = (), system: str | None = None
) -> list[Message]:
    """The messages that ask ``instruction`` after the earlier ``history`` turns."""
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    for user, assistant in history:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    messages.append({"role": "user", "content": instruction})
    return messages


def record_messages(record: Instruction | PreferencePair, *, answer: str | None = None) -> list[Message]:
    """The whole dialogue of a record, ending with its answer (``output``, or ``answer`` when given)."""
    if isinstance(record, Instruction):
        messages = prompt_messages(record.prompt_text(), history=record.history, system=record.system)
        reply = record.output if answer is None else answer
    else:
        messages = prompt_messages(record.prompt, history=record.history, system=record.system)
        reply = record.chosen if answer is None else answer
    return [*messages, {"role": "assistant", "content": reply}]
