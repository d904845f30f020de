"""Derived seeds: one user seed, many independent and reproducible streams.

Every random choice in a run (the validation split, subsampling, the strategy, training)
takes its own seed derived from the run's seed and a label, so that changing one part
(another strategy, say) never shifts the random numbers of another.
"""

import hashlib
import json

SEED_MODULUS = 2**31 - 1


def derive_seed(*parts: object) -> int:
    """Return a seed in [1, 2**31 - 2] that depends only on ``parts``.

    Parameters
    ----------
    parts:
        JSON-serialisable values (ints, strings, dicts of hyperparameters...).
        Dicts are serialised with sorted keys, so key order does not matter.

    Returns
    -------
    int
        Never 0: keras-tuner replaces a seed of 0 by a random one.
    """
    text = json.dumps(parts, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (SEED_MODULUS - 1)


class RunSeeds:
    """Every seed of one (benchmark, strategy, seed) run, each derived from the run seed and
    its label here, the only place that names them.

    The same run seed gives every strategy the same validation split, subsample and
    training seeds, so strategies differ only in what they choose.
    """

    def __init__(self, benchmark: str, seed: int):
        self.benchmark = benchmark
        self.seed = seed

    @property
    def split(self) -> int:
        """The validation split (datasets without one of their own)."""
        return derive_seed("split", self.seed)

    @property
    def subset(self) -> int:
        """The stratified subsample of a suite's ``subset``."""
        return derive_seed("subset", self.seed)

    @property
    def strategy(self) -> int:
        """The strategy's own random numbers."""
        return derive_seed("strategy", self.benchmark, self.seed)

    def training(self, config: dict) -> int:
        """The seed ``config`` trains with: the same whichever strategy proposed it."""
        return derive_seed("train", self.seed, config)


def continuation_seed(training_seed: int, initial_epoch: int) -> int:
    """The seed of a warm-started continuation's epochs (fresh data orders and dropout masks
    from ``initial_epoch`` on). It has no label, as it had before labels were named here:
    adding one would change every recorded Hyperband promotion."""
    return derive_seed(training_seed, initial_epoch)
