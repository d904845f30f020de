"""Pure model builders: a configuration dict in, a compiled Keras model out.

Each module holds one model and the search space its configurations come from.
"""
