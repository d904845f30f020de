"""The runner: a suite's runs, each under the same budget, and the files they leave.

Its pieces, each with one job (read them in this order):

- :mod:`.suite_runner`: :func:`run_suite`, the whole of ``tunebench run``;
- :mod:`.tasks`: the runs of a suite (:class:`RunTask`) and the check of their inputs;
- :mod:`.executors`: where runs are done (in this process, or on Dask workers);
- :mod:`.execute`: one run in some process (its journal, its benchmark);
- :mod:`.trial_loop`: one run's trials (ask, check, pay, evaluate, tell, charge, journal);
- :mod:`.training`: training one trial, failures kept inside it;
- :mod:`.monitor`: progress and messages;
- :mod:`.final_files`: the CSVs, incumbents and manifest, derived from the journals;
- :mod:`.kill_hook`: a test hook for interruptions.
"""

from tunebench.runner.kill_hook import KILL_HOOK_ENV
from tunebench.runner.suite_runner import RunOutcome, run_suite
from tunebench.runner.tasks import RunTask
from tunebench.runner.training import MAX_TRIAL_STARTS
from tunebench.runner.trial_loop import MAX_CONSECUTIVE_FAILURES, InvalidSuggestion, run_one

__all__ = ["InvalidSuggestion", "KILL_HOOK_ENV", "MAX_CONSECUTIVE_FAILURES", "MAX_TRIAL_STARTS", "RunOutcome", "RunTask",
           "run_one", "run_suite"]
