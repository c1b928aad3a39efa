"""The public Python API: read a network, run it, check it, explain it (docs/api.md).

The names `bptrace.__all__` lists are public and follow semantic versioning; every module,
these included, is private. Pure: it prints nothing and never exits. A mistake in a network is
raised as NetworkError, which carries file:line:col; a file that cannot be read as FileError; a
run whose numbers stop being finite as NumericFault.
"""

TYPE_CHECKING = False  # typing itself is not imported: the CLI loads this package at start-up
if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads each name
    from bptrace.api.answers import (
        Chain,
        CheckedGrad,
        CheckedPartial,
        CheckedStep,
        Explanation,
        NetworkWarning,
        Partial,
    )
    from bptrace.api.grading import grade
    from bptrace.api.network import Network, example, load, parse
    from bptrace.api.problems import NetworkError
    from bptrace.api.reading import FileError
    from bptrace.api.records import Run, StepRecord, Trace
    from bptrace.engine.data import DataError
    from bptrace.engine.nudge import Nudge, NudgeReport
    from bptrace.errors import BptraceError, NumericFault

__all__ = [
    "BptraceError",
    "Chain",
    "CheckedGrad",
    "CheckedPartial",
    "CheckedStep",
    "DataError",
    "Explanation",
    "FileError",
    "Network",
    "NetworkError",
    "NetworkWarning",
    "Nudge",
    "NudgeReport",
    "NumericFault",
    "Partial",
    "Run",
    "StepRecord",
    "Trace",
    "example",
    "grade",
    "load",
    "parse",
]


# Where each public name lives: loaded on first use, so that a command importing one module of
# the API (the CLI reads files with api.reading) loads no more of it than it uses.
_HOMES = {
    "BptraceError": "bptrace.errors",
    "NumericFault": "bptrace.errors",
    "Chain": "bptrace.api.answers",
    "CheckedGrad": "bptrace.api.answers",
    "CheckedPartial": "bptrace.api.answers",
    "CheckedStep": "bptrace.api.answers",
    "Explanation": "bptrace.api.answers",
    "NetworkWarning": "bptrace.api.answers",
    "Partial": "bptrace.api.answers",
    "Nudge": "bptrace.engine.nudge",
    "NudgeReport": "bptrace.engine.nudge",
    "FileError": "bptrace.api.reading",
    "DataError": "bptrace.engine.data",
    "grade": "bptrace.api.grading",
    "example": "bptrace.api.network",
    "Network": "bptrace.api.network",
    "load": "bptrace.api.network",
    "parse": "bptrace.api.network",
    "NetworkError": "bptrace.api.problems",
    "Run": "bptrace.api.records",
    "StepRecord": "bptrace.api.records",
    "Trace": "bptrace.api.records",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bptrace.api' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
