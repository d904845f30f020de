import pytest

from tunebench.ledger import BudgetExceeded, EpochLedger


def test_charges_until_the_budget_and_refuses_more():
    ledger = EpochLedger(10)
    assert ledger.charge(4) == 4
    assert ledger.can_pay(6) and not ledger.can_pay(7)
    assert ledger.charge(6) == 10
    assert ledger.remaining == 0
    with pytest.raises(BudgetExceeded):
        ledger.charge(1)


def test_rejects_empty_budget():
    with pytest.raises(ValueError):
        EpochLedger(0)


def test_time_cap_counts_the_charged_seconds():
    ledger = EpochLedger(5, max_seconds=30)
    assert not ledger.out_of_time()
    ledger.charge(1, seconds=29.9)
    assert not ledger.out_of_time()
    ledger.charge(1, seconds=0.1)
    assert ledger.out_of_time()
    assert ledger.elapsed() == pytest.approx(30.0)
    uncapped = EpochLedger(5)
    uncapped.charge(1, seconds=1e9)
    assert not uncapped.out_of_time()
