import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss

from tunebench.metrics import accuracy, confusion_matrix, cross_entropy, macro_f1


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_and_macro_f1_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 7, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 6, 300))  # class 6 rarely predicted
    confusion = confusion_matrix(y_true, y_pred, 7)
    assert confusion.sum() == 300
    assert accuracy(confusion) == pytest.approx(accuracy_score(y_true, y_pred))
    assert macro_f1(confusion) == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))


def test_macro_f1_ignores_classes_absent_from_truth_and_predictions():
    y = np.array([0, 0, 1, 1])
    confusion = confusion_matrix(y, y, 5)
    assert macro_f1(confusion) == 1.0


def test_cross_entropy_matches_scikit_learn():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, 50)
    assert cross_entropy(probabilities, y) == pytest.approx(log_loss(y, probabilities, labels=range(4)), rel=1e-6)
