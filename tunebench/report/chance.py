"""The majority-class line of a benchmark, and whether its best result clears it.

A classifier that always answers the most frequent class scores that class's share of the
examples (FER2013's "Happy": about 0.25). A comparison whose best configuration is not
clearly above that line ranks strategies on noise, so the report draws the line in every
accuracy figure and table and flags such a benchmark as carrying no signal.

"Clearly above" means above the share by more than :data:`SIGNAL_SE` standard errors of an
accuracy measured on that many examples (``sqrt(p (1 - p) / n)``): with 3,589 validation
faces at p = 0.25, 0.25 + 3 x 0.0072 = 0.272.

Where the shares come from, first found: the manifest's ``data[benchmark].class_counts``
(per seed and split, written by ``tunebench run`` for live benchmarks); else the row sums of
a trial's test confusion matrix in ``trials.csv`` (the test split's classes; replay runs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunebench.results_dir import ResultsData
from tunebench.schema import CONFUSION_COLUMN

#: Standard errors above the majority share that a best result must reach to carry signal.
SIGNAL_SE = 3.0


@dataclass(frozen=True)
class MajorityLine:
    """The share of a split's most frequent class.

    Attributes
    ----------
    share:
        Fraction of the split's examples in its most frequent class (mean over seeds).
    split:
        ``"val"`` or ``"test"``: which split the share was measured on.
    examples:
        Examples in that split (mean over seeds).
    class_name:
        The most frequent class, when the manifest names the classes.
    """

    share: float
    split: str
    examples: float
    class_name: str | None = None

    @property
    def threshold(self) -> float:
        """The accuracy a result must exceed to be clearly above the line."""
        return self.share + SIGNAL_SE * math.sqrt(self.share * (1 - self.share) / max(self.examples, 1.0))

    def clears(self, accuracy: float) -> bool:
        """Whether ``accuracy`` is clearly above the line (NaN never is)."""
        return bool(np.isfinite(accuracy) and accuracy > self.threshold)

    def describe(self) -> str:
        """``majority class 'Happy' = 0.251 of 3,589 validation examples``."""
        which = "validation" if self.split == "val" else "test"
        name = f" {self.class_name!r}" if self.class_name else ""
        return f"majority class{name} = {self.share:.3f} of {self.examples:,.0f} {which} examples"


def majority_line(data: ResultsData, benchmark: str, split: str = "val") -> MajorityLine | None:
    """The majority line of ``benchmark`` on ``split`` (``"val"`` or ``"test"``); for ``"val"``
    the test split's line stands in when only that is known; ``None`` when neither is."""
    entry = (data.manifest.get("data") or {}).get(benchmark) or {}
    names = entry.get("class_names") if isinstance(entry.get("class_names"), list) else None
    sources = [(split, _counts_from_manifest(entry, split)), ("test", _counts_from_manifest(entry, "test")),
               ("test", _counts_from_confusions(data, benchmark))]
    found_split, counts = next(((where, counts) for where, counts in sources if counts), (None, None))
    if not counts:
        return None
    totals = [sum(c) for c in counts]
    shares = [max(c) / total for c, total in zip(counts, totals) if total > 0]
    if not shares:
        return None
    top = int(np.argmax(np.sum(counts, axis=0)))
    class_name = str(names[top]) if names and top < len(names) else None
    return MajorityLine(share=float(np.mean(shares)), split=found_split, examples=float(np.mean(totals)),
                        class_name=class_name)


def _counts_from_manifest(entry: dict[str, Any], split: str) -> list[list[int]] | None:
    per_seed = entry.get("class_counts")
    if not isinstance(per_seed, dict):
        return None
    counts = [seed_counts.get(split) for seed_counts in per_seed.values() if isinstance(seed_counts, dict)]
    counts = [c for c in counts if isinstance(c, list) and c and all(isinstance(v, int) for v in c)]
    return counts or None


def _counts_from_confusions(data: ResultsData, benchmark: str) -> list[list[int]] | None:
    """The test split's class counts: the row sums of the first readable test confusion matrix."""
    if CONFUSION_COLUMN not in data.trials.columns:
        return None
    cells = data.trials.loc[data.trials["benchmark"] == benchmark, CONFUSION_COLUMN].dropna()
    for text in cells.head(20):
        try:
            matrix = np.asarray(json.loads(text), dtype=float)
        except (TypeError, ValueError):
            continue
        if matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1] and np.isfinite(matrix).all() and matrix.sum() > 0:
            return [[int(v) for v in matrix.sum(axis=1)]]
    return None


__all__ = ["MajorityLine", "SIGNAL_SE", "majority_line"]
