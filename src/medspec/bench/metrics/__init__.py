"""The benchmark's metrics, each an ``evaluate.Metric`` built here (``evaluate.load`` would need the hub).

================  ===============================================  ======================================
metric            figures (x100, averaged per answer)              module
================  ===============================================  ======================================
ChineseBLEU       ``bleu-1`` .. ``bleu-4``                         :mod:`~medspec.bench.metrics.bleu`
ChineseGLEU       ``gleu``                                         :mod:`~medspec.bench.metrics.gleu`
ChineseROUGE      ``rouge-1``, ``rouge-2``, ``rouge-l`` (F1)       :mod:`~medspec.bench.metrics.rouge_zh`
Distinct          ``distinct-1``, ``distinct-2``                   :mod:`~medspec.bench.metrics.distinct`
ChoiceAccuracy    ``accuracy``, ``extraction_rate`` (+ per type)   :mod:`~medspec.bench.metrics.choice_accuracy`
================  ===============================================  ======================================

Text is segmented with jieba (:mod:`~medspec.bench.metrics.segmentation`).
"""

from medspec.bench.metrics.bleu import ChineseBLEU
from medspec.bench.metrics.choice_accuracy import ChoiceAccuracy
from medspec.bench.metrics.distinct import Distinct
from medspec.bench.metrics.gleu import ChineseGLEU
from medspec.bench.metrics.rouge_zh import ChineseROUGE

__all__ = ["ChineseBLEU", "ChineseGLEU", "ChineseROUGE", "ChoiceAccuracy", "Distinct"]
