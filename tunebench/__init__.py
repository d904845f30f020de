"""tunebench: compare hyperparameter search strategies under identical budgets and seeds."""

__version__ = "0.1.0"

#: Version of the results schema (trials.csv, curves.csv, runs.csv, manifest.json).
#: Bump it whenever a column is renamed, removed or changes meaning.
SCHEMA_VERSION = 1
