"""The functions a .bp file may call, with their numbers of arguments (math: engine/ops.py)."""

ARITY = {
    "sigmoid": 1,
    "logsigmoid": 1,
    "tanh": 1,
    "relu": 1,
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "sin": 1,
    "cos": 1,
    "abs": 1,
    "max": 2,
    "min": 2,
    "logaddexp": 2,
    "step": 1,
    "heaviside": 2,
    "sign": 1,
}

# Other spellings a user may write, mapped to the canonical function name.
ALIASES = {"σ": "sigmoid"}

# Functions of a whole vector or matrix (see layers.py), each with its number of arguments.
LAYER_ARITY = {
    "sum": 1,
    "mean": 1,
    "dot": 2,
    "softmax": 1,
    "logsumexp": 1,
    "cross_entropy": 2,
    "cross_entropy_logits": 2,
}
VECTOR_FUNCTIONS = frozenset({"softmax", "logsumexp", "cross_entropy", "cross_entropy_logits"})
