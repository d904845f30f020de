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
