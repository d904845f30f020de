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


def test_wall_clock_cap_uses_the_clock():
    now = [100.0]
    ledger = EpochLedger(5, max_seconds=30, clock=lambda: now[0])
    assert not ledger.out_of_time()
    now[0] = 129.9
    assert not ledger.out_of_time()
    now[0] = 130.0
    assert ledger.out_of_time()
    assert ledger.elapsed() == pytest.approx(30.0)
    assert not EpochLedger(5, clock=lambda: 1e9).out_of_time()
