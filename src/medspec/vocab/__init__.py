"""Vocabulary extension: mine domain vocabulary, extend the tokenizer for real, resize and initialise the model."""

from medspec.vocab.extender import NewToken, VocabConfig, VocabExtender, VocabExtension

__all__ = ["NewToken", "VocabConfig", "VocabExtender", "VocabExtension"]
