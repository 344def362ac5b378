"""LLM backends: one protocol for generation and judging, injectable into CrossFilter and the benchmark judge."""

from medspec.llm.base import ChatBackend, Completion, GenerationParams

__all__ = ["ChatBackend", "Completion", "GenerationParams"]
