"""Research studies: scripts that answer one question about tunebench's benchmarks (seed noise,
surrogate variants, the FER network, recording cost, the gate's power) and print the answer.

They are not the product's benchmarks (those are in ``perf/``, run by tox) and nothing in the
product imports them. Run one from the repository root as a module, ``python -m studies.NAME``;
each module's docstring opens with the question it answers and its latest result, and
``studies/README.md`` lists them.
"""
