"""Classification metrics from integer predictions, in plain numpy.

Macro-F1 follows scikit-learn's ``f1_score(average="macro")``: the mean F1 over the
labels that occur in the truth or the predictions, a class with no true and no predicted
example being left out, a class with a zero denominator scoring 0.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``n_classes x n_classes`` counts, rows the true class, columns the predicted one."""
    flat = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def accuracy(confusion: np.ndarray) -> float:
    """Share of correct predictions."""
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")


def macro_f1(confusion: np.ndarray) -> float:
    """Macro-averaged F1 over the classes seen in truth or predictions."""
    true_positive = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    seen = (support + predicted) > 0
    if not seen.any():
        return float("nan")
    denominator = support + predicted
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    return float(f1[seen].mean())


def cross_entropy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class (probabilities clipped at 1e-7)."""
    picked = probabilities[np.arange(len(y_true)), y_true]
    return float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
