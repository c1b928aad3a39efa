"""bptrace: a step-by-step backpropagation tracer for tiny networks written in .bp files.

The public Python API (docs/api.md): `load` or `parse` a network, then `run`, `check` or `explain`
it. Every name in __all__ is public and follows semantic versioning; every module is private.
"""

__version__ = "0.1.0"

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
    "__version__",
    "example",
    "grade",
    "load",
    "parse",
]

# typing itself is not imported: `import bptrace` stays as cheap as it was
TYPE_CHECKING = False
if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads it
    from bptrace.api import (
        BptraceError,
        Chain,
        CheckedGrad,
        CheckedPartial,
        CheckedStep,
        DataError,
        Explanation,
        FileError,
        Network,
        NetworkError,
        NetworkWarning,
        Nudge,
        NudgeReport,
        NumericFault,
        Partial,
        Run,
        StepRecord,
        Trace,
        example,
        grade,
        load,
        parse,
    )


def __getattr__(name: str):
    # Loaded on first use: `bptrace run` imports this package, and must not pay for the API.
    if name in __all__:
        from bptrace import api

        return getattr(api, name)
    raise AttributeError(f"module 'bptrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
