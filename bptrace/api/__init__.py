"""The public Python API: read a network, run it, check it, explain it (docs/api.md).

The names `bptrace.__all__` lists are public and follow semantic versioning; every module,
these included, is private. Pure: it prints nothing and never exits. A mistake in a network is
raised as NetworkError, which carries file:line:col; a file that cannot be read as FileError; a
run whose numbers stop being finite as NumericFault.
"""

__all__ = [
    "BptraceError",
    "Chain",
    "CheckedGrad",
    "CheckedPartial",
    "CheckedStep",
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
    "grade",
    "load",
    "parse",
]


# Where each name is, loaded on first use: the CLI imports bptrace.api.reading (every command reads
# a file) and `bptrace run` needs neither the answers to check and explain, nor nudge, nor grading.
_HOME = {
    **dict.fromkeys(
        ("Chain", "CheckedGrad", "CheckedPartial", "CheckedStep", "Explanation", "Partial"),
        "bptrace.api.answers",
    ),
    **dict.fromkeys(("Network", "load", "parse"), "bptrace.api.network"),
    **dict.fromkeys(("NetworkError", "NetworkWarning"), "bptrace.api.problems"),
    "FileError": "bptrace.api.reading",
    **dict.fromkeys(("Run", "StepRecord", "Trace"), "bptrace.api.records"),
    **dict.fromkeys(("BptraceError", "NumericFault"), "bptrace.errors"),
    **dict.fromkeys(("Nudge", "NudgeReport"), "bptrace.engine.nudge"),
    "grade": "bptrace.api.grading",
}

# typing itself is not imported: what type checkers and editors see
TYPE_CHECKING = False
if TYPE_CHECKING:
    from bptrace.api.answers import (
        Chain,
        CheckedGrad,
        CheckedPartial,
        CheckedStep,
        Explanation,
        Partial,
    )
    from bptrace.api.grading import grade
    from bptrace.api.network import Network, load, parse
    from bptrace.api.problems import NetworkError, NetworkWarning
    from bptrace.api.reading import FileError
    from bptrace.api.records import Run, StepRecord, Trace
    from bptrace.engine.nudge import Nudge, NudgeReport
    from bptrace.errors import BptraceError, NumericFault


def __getattr__(name: str):
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'bptrace.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
