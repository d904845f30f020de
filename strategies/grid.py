"""Grid search over the space's explicit grid points.

keras-tuner's GridSearchOracle visits the grid in lexicographic order, so a grid larger
than the budget only ever covers one corner of the space. This strategy visits the grid in a
seeded random order, whatever the budget: the first trials of a run are then the run of any
smaller budget, and every budget samples the whole space.
"""

from __future__ import annotations

import random
from typing import Any

from tunebench.strategies.base import Observation, Strategy, StrategyContext, Suggestion


class GridSearch(Strategy):
    """Every grid point once, at full fidelity, then ``None``."""

    def __init__(self, context: StrategyContext):
        grid = context.space.grid()
        self.grid_size = len(grid)
        random.Random(context.seed).shuffle(grid)
        self._pending = grid
        self._next = 0
        self._max_epochs = context.max_epochs

    def ask(self) -> Suggestion | None:
        if self._next >= len(self._pending):
            return None
        config = self._pending[self._next]
        self._next += 1
        return Suggestion(trial_id=str(self._next - 1), config=config, epochs=self._max_epochs)

    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        """Grid search learns nothing from results."""

    def settings(self) -> dict[str, Any]:
        return {"library": "tunebench", "grid_points": self.grid_size, "seeded_order": True}
