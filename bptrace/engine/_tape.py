"""Lower a graph to one straight-line tape, and run a step's forward and backward passes on it.

The tape is three lists: instructions (function, slot a, slot b, out slot) that compute each node's
value followed by its local partials' values; for each edge on the loss's side, the slot of its
value; and the chain rule as (of, wrt, partial) slot triples, from the loss back: ∂L/∂wrt += ∂L/∂of
· partial. Slots hold the leaves, then the nodes, in source order, then the partials' values and
constants (the slots records read), then temporaries; an expression that occurs twice (x*w in a node
and in its partial) is computed once. On floats, temporaries share a few slots, each taken again
once its value is read for the last time (see _registers).

This is the fast path, and it is optimistic: on floats it calls the math table's C functions
directly, and a step that raises, or in which a value records read (a node's, a partial's, a
gradient) is not finite, is run again by the tracer's exact per-node path, which reports where and
why. On floats, intermediate values share slots and most are gone when the check comes: an inf among
them that the next operation turns into a number (1/x of x = inf) is what the exact path computes
too, and a nan is passed on by every function the tape calls (see Op.raw) until it reaches a value
that is checked. Where nothing goes wrong, the two compute the same operations on the same numbers,
so they agree bit for bit (tests/test_tape.py checks that).
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial as bind
from itertools import repeat
from typing import Any

from bptrace.engine.evaluate import CONST, LOAD, Program
from bptrace.engine.graph import Graph
from bptrace.engine.lazy import numpy
from bptrace.engine.ops import NUMPY_ON_FLOATS, OPERATORS, on_arrays

# (function, a, b, out); b < 0 for a function of one argument
Instruction = tuple[Callable[..., Any], int, int, int]
_COPY = operator.pos  # a node that is a name, a number, or an expression an earlier node computed
_POWER = OPERATORS["^"].value
_NOTHING = contextlib.nullcontext()


@dataclass(frozen=True, slots=True)
class Tape:
    """A graph lowered to slots: what each step computes, in order, without a per-node object."""

    names: dict[str, int]  # each leaf's and node's slot: 0, 1, 2, … in source order
    # the value before a step of each slot a record reads: constants in theirs, 0.0 elsewhere
    start: tuple[Any, ...]
    # the instructions on floats: the math table's C functions where it has them
    floats: tuple[Instruction, ...]
    # the same with samples: numpy's functions where an argument holds samples
    arrays: tuple[Instruction, ...]
    # the slot of the value of each edge (of, wrt) of a node the loss uses
    partials: dict[tuple[str, str], int]
    chain: tuple[tuple[int, int, int], ...]  # (of, wrt, partial) slots, from the loss back
    loss: int
    # the instructions the nodes' values need: all a forward pass alone runs
    forward: tuple[int, ...]
    # slots after start's that the instructions on floats share for their temporaries
    registers: int = 0
    # slots after start's for the temporaries on arrays: one each (or shared buffers)
    temporaries: int = 0
    # whether the instructions on floats call numpy (x^y, but for x²): it loads only then
    numpy: bool = False
    # with samples: (instruction, buffer) for temporaries written in place
    shared: tuple[tuple[int, int], ...] = ()
    buffers: int = 0  # how many buffers those share (see _share)
    # see _bound
    bound: dict[int, tuple[Instruction, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # see Slots.take
    taken: dict[tuple[int, int], tuple] = field(default_factory=dict, compare=False, repr=False)


def lower(graph: Graph, used: frozenset[str]) -> Tape:
    """Return the tape of `graph`, with the partials of the nodes in `used` (the loss's)."""
    lowering = _Lowering([leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes])
    where: dict[tuple[str, str], int] = {}
    # each node's partials right after its value: what they share is still at hand
    for node in graph.nodes:
        lowering.emit(node.program, lowering.slot[node.name])
        if node.name in used:
            for e in node.edges:
                where[(e.of, e.wrt)] = lowering.emit(e.program)
    slot, start, constants, ssa = lowering.slot, lowering.start, lowering.constants, lowering.code
    # a 100,000-node network's tape is built from half a million instructions: one copy at a time
    del lowering
    # Renumber: the slots records read (names, partials' values, constants) first, then temporaries.
    temporary = set(range(len(slot), len(start))) - set(where.values()) - set(constants)
    order = [i for i in range(len(start)) if i not in temporary] + sorted(temporary)
    # old slot → new; the last entry maps -1 (no second argument) to itself
    new = [0] * (len(order) + 1)
    for i, old in enumerate(order):
        new[old] = i
    new[-1] = -1
    kept = len(start) - len(temporary)
    code = [(f, new[a], new[b], new[out]) for f, a, b, out in ssa]
    del ssa
    where = {edge: new[i] for edge, i in where.items()}
    chain = tuple(  # new ints, next to their triples in memory: see _laid_out
        (new[slot[node.name]] + 0, new[slot[e.wrt]] + 0, where[(e.of, e.wrt)] + 0)
        for node in reversed(graph.nodes)
        if node.name in used
        for e in node.edges
    )
    start = [start[i] for i in order[:kept]]
    sampled = [isinstance(leaf.value, tuple) for leaf in graph.leaves] + [False] * (
        len(order) - len(graph.leaves)
    )
    for _f, a, b, out in code:  # which slots hold samples: those computed from a leaf that does
        sampled[out] = sampled[a] or (b >= 0 and sampled[b])
    arrays, shared, buffers = None, (), 0
    if any(sampled):
        arrays = [
            (on_arrays(f), a, b, out) if sampled[out] else _on_floats(f, a, b, out, start)
            for f, a, b, out in code
        ]
        shared, buffers = _share(
            arrays, frozenset(i for i in range(kept, len(order)) if sampled[i])
        )
        arrays = _laid_out(arrays)
    forward = _needed(code, range(len(graph.leaves), len(slot)))
    floats, registers = _registers(code, kept, start)
    del code
    return Tape(
        names=dict(slot),  # the leaves and nodes come first in both numberings
        start=tuple(start),
        floats=floats,
        arrays=floats if arrays is None else arrays,
        partials=where,
        chain=chain,
        loss=slot[graph.loss],
        forward=forward,
        registers=registers,
        temporaries=len(temporary),
        numpy=any(f in NUMPY_ON_FLOATS for f, *_ in floats),
        shared=shared,
        buffers=buffers,
    )


def _registers(
    code: list[Instruction], first: int, start: list[Any]
) -> tuple[tuple[Instruction, ...], int]:
    """Return the instructions on floats (see _on_floats) with the temporaries (slots from `first`
    on) in shared slots, laid out as _laid_out does, and how many shared slots there are.

    A temporary's slot is free again after the last instruction that reads it, and the next
    temporary takes it: a big network's many temporaries fit in a few hundred slots. Its float is
    then let go at once and its memory reused while still in the cache, instead of held to the
    step's end, and the list of slots is half as long. Only on floats: records never read a
    temporary, and with samples the arrays share buffers instead (see _share), which needs one slot
    per temporary.
    """
    last: dict[int, int] = {}
    for i, (_, a, b, _) in enumerate(code):
        last[a] = last[b] = i
    free: list[int] = []
    held: dict[int, int] = {}  # a live temporary → its register's slot
    count = 0
    shared = []
    for i, (f, a, b, out) in enumerate(code):
        ra = held[a] if a >= first else a
        rb = held[b] if b >= first else b
        if a >= first and last[a] == i:
            free.append(held.pop(a))
        if b >= first and b != a and last[b] == i:
            free.append(held.pop(b))
        if out >= first:
            if not free:
                free.append(first + count)
                count += 1
            held[out] = register = free.pop()
            if last.get(out, i) <= i:  # never read: free at once
                free.append(held.pop(out))
            out = register
        # new ints, as _laid_out makes them
        shared.append(_on_floats(f, ra + 0, rb + 0, out + 0, start))
    return tuple(shared), count


def _laid_out(code: list[Instruction]) -> tuple[Instruction, ...]:
    """Return the instructions as new tuples of new ints: in memory in the order a run reads them.

    A run reads its instructions in order, and each instruction's slot numbers; made here, those
    numbers lie next to the instruction that holds them, instead of wherever the lowering made them
    (shared with other instructions that read a slot far away): a tape that no longer fits the
    caches runs faster (see docs/performance.md). n + 0 is a new int in CPython, which keeps only
    -5…256 as single objects.
    """
    return tuple([(f, a + 0, b + 0, out + 0) for f, a, b, out in code])


def _needed(code: list[Instruction], slots) -> tuple[int, ...]:
    """Return the indices of the instructions that the values of `slots` need, in order."""
    needed, kept = set(slots), []
    for i in range(len(code) - 1, -1, -1):
        _, a, b, out = code[i]
        if out in needed:
            kept.append(i)
            needed.update((a, b))
    return tuple(reversed(kept))


def _share(
    code: tuple[Instruction, ...], temporary: frozenset[int]
) -> tuple[tuple[tuple[int, int], ...], int]:
    """Return which instructions write their array into a shared buffer, and how many buffers.

    Only temporaries share: the arrays no record reads (values and partials must stay valid in the
    records a consumer keeps). A temporary is dead after the last instruction that reads it, and its
    buffer then takes another's value: a big network's temporaries fit in a dozen or so buffers,
    made once, instead of allocating an array for each (a node's partials are computed right after
    it, so x·w in a node and in its partials is a temporary for a few instructions only). An
    instruction may write over an argument it reads for the last time: numpy's elementwise functions
    allow that.
    """
    np = numpy()

    last: dict[int, int] = {}
    for i, (_, a, b, _) in enumerate(code):
        last[a] = i
        last[b] = i
    free: list[int] = []
    owner: dict[int, int] = {}  # a live temporary's slot → its buffer
    shared: list[tuple[int, int]] = []
    count = 0
    for i, (f, a, b, out) in enumerate(code):
        for read in {a, b}:
            if read in owner and last[read] == i:
                free.append(owner.pop(read))
        if out in temporary and isinstance(f, np.ufunc):
            if not free:
                free.append(count)
                count += 1
            k = owner[out] = free.pop()
            shared.append((i, k))
            if last.get(out, i) <= i:  # never read: its buffer is free at once
                free.append(owner.pop(out))
    return tuple(shared), count


def _bound(tape: Tape, size: int) -> tuple[Instruction, ...]:
    """Return the instructions on arrays of `size` samples, the shared ones bound to their buffers.

    The buffers are made once per batch size and kept in the tape for the next steps (two sizes
    at most).
    """
    code = tape.bound.get(size)
    if code is None:
        np = numpy()

        buffers = [np.empty(size) for _ in range(tape.buffers)]
        bound = list(tape.arrays)
        for i, k in tape.shared:
            f, a, b, out = bound[i]
            bound[i] = (bind(f, out=buffers[k]), a, b, out)
        # a batch's size and all the samples' (-b), or a pass's smaller last batch
        if len(tape.bound) > 1:
            tape.bound.clear()
        code = tape.bound[size] = tuple(bound)
    return code


def _on_floats(f, a: int, b: int, out: int, start: list[Any]) -> Instruction:
    """Return an instruction as it runs on floats: x^2 as x·x (as `^` has it), else the raw one."""
    # only a constant's slot starts at 2 (temporaries: past the end)
    if f is _POWER and 0 <= b < len(start) and start[b] == 2.0:
        return operator.mul, a, a, out
    return getattr(f, "raw", f), a, b, out


class Slots(Mapping):
    """Named values read off a run's slots, not copied: `values["h"]`, `partials[("h", "w")]`."""

    __slots__ = ("_slot", "_run", "_taken")

    def __init__(
        self,
        slot: dict[Hashable, int],
        run: list[Any],
        taken: dict[tuple[int, int], tuple] | None = None,
    ) -> None:
        self._slot, self._run = slot, run
        # see take: shared by the Slots of a tape's runs
        self._taken = {} if taken is None else taken

    def __getitem__(self, key: Hashable) -> Any:
        return self._run[self._slot[key]]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._slot)

    def __len__(self) -> int:
        return len(self._slot)

    def values(self) -> list[Any]:  # type: ignore[override]
        """Return the values in order, as a list made at C speed (not a view, as dict.values is)."""
        return list(map(self._run.__getitem__, self._slot.values()))

    def copy(self) -> dict:
        """Return the values as a plain dict (as dict.copy does), at C speed."""
        return dict(zip(self._slot, self.values()))

    def take(self, keys: tuple[Hashable, ...]) -> list[Any]:
        """Return the values of `keys`, in order, at C speed: [self[k] for k in keys].

        The keys' slots are looked up once per tuple of keys and kept for the tape's later runs: a
        trace asks each step for the same keys, and on a big network looking them up again costs
        much (see docs/performance.md).
        """
        key = (id(keys), id(self._slot))  # unique while kept: the entry holds both alive
        kept = self._taken.get(key)
        if kept is None:
            if len(self._taken) >= 8:
                self._taken.clear()
            kept = self._taken[key] = (keys, self._slot, list(map(self._slot.__getitem__, keys)))
        return list(map(self._run.__getitem__, kept[2]))

    def __repr__(self) -> str:
        return f"Slots({self.copy()!r})"


class _Lowering:
    """The tape under construction: slots by name, and each distinct operation's slot."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.slot = {name: i for i, name in enumerate(names)}
        self.start: list[Any] = [0.0] * len(names)
        self.code: list[Instruction] = []
        self.computed: dict[tuple, int] = {}  # (function, a, b) or a constant's bits → its slot
        self.constants: list[int] = []  # the constants' slots

    def emit(self, program: Program, out: int | None = None) -> int:
        """Append the instructions of a postfix program; return its value's slot (`out` if set)."""
        stack: list[int] = []
        last = len(program) - 1
        for i, (kind, arg, arity) in enumerate(program):
            if kind == LOAD:
                stack.append(self.slot[arg])
            elif kind == CONST:
                stack.append(self._constant(arg))
            else:
                b = stack.pop() if arity == 2 else -1
                a = stack.pop()
                key = (arg, a, b)
                found = self.computed.get(key)
                if found is None or (i == last and out is not None):
                    target = out if i == last and out is not None else self._new()
                    self.code.append((arg, a, b, target))
                    self.computed.setdefault(key, target)
                    found = target
                stack.append(found)
        (result,) = stack
        if out is not None and result != out:  # `h = x`, `h = 2`: a copy
            self.code.append((_COPY, result, -1, out))
            result = out
        return result

    def _new(self) -> int:
        self.start.append(0.0)
        return len(self.start) - 1

    def _constant(self, value: float) -> int:
        # 0.0 and -0.0 are equal, but not the same constant
        key = (
            "const",
            value,
            math.copysign(1.0, value),
        )
        found = self.computed.get(key)
        if found is None:
            found = self.computed[key] = self._new()
            self.start[found] = value
            self.constants.append(found)
        return found


def forward_backward(
    tape: Tape, leaves: list[Any], arrays: bool = False, backward: bool = True
) -> tuple[list[Any], list[Any]] | None:
    """Run one forward and backward pass from the leaves' values (in the graph's order).

    Returns the value of every slot a record reads and every name's ∂L/∂name, or None when an
    operation raised or one of those is not finite (with samples, or a float temporary: see below):
    the tracer then runs the step on its exact path, which says where it went wrong. Without
    `backward`, only the nodes' values are computed, and the list of ∂L/∂name is empty.
    """
    v = list(tape.start)
    v.extend(repeat(0.0, tape.temporaries if arrays else tape.registers))
    v[: len(leaves)] = leaves
    code = tape.arrays if arrays else tape.floats
    if arrays or tape.numpy:
        import numpy as np  # not lazy.numpy(): no call added to a step
    if arrays:
        size = next((len(x) for x in leaves if type(x) is np.ndarray), 1)
        if tape.shared:
            code = _bound(tape, size)
    try:
        # With samples, numpy raises where an operation on finite numbers gives an inf or a nan (an
        # underflow to 0 is fine), so only the leaves and the plain floats need checking afterwards.
        with (
            np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")
            if arrays or tape.numpy
            else _NOTHING
        ):
            if arrays and not all(np.isfinite(x).all() for x in leaves if type(x) is np.ndarray):
                return None
            for f, a, b, out in code if backward else map(code.__getitem__, tape.forward):
                if b < 0:  # a statement, not a conditional expression: measurably faster
                    v[out] = f(v[a])
                else:
                    v[out] = f(v[a], v[b])
            # With samples every temporary is still here, and must be checked: a float one that
            # overflowed to inf (1e300*1e300) passes into an array without numpy raising (inf + x).
            # On floats they share slots and most are gone by now; an inf or a nan among them
            # reaches a value records read, as the raw functions pass it on.
            if not _finite(v, arrays):
                return None
            # the temporaries: no record reads them (with samples, 30,000 arrays at 10,000 nodes)
            del v[len(tape.start) :]
            if not backward:
                return v, []
            g: list[Any] = [0.0] * len(tape.names)
            g[tape.loss] = 1.0
            if arrays:
                add, multiply, scratch = np.add, np.multiply, np.empty(size)
                for of, wrt, partial in tape.chain:
                    total = g[wrt]
                    # a sum this loop made: add in place, no new array
                    if type(total) is np.ndarray:
                        add(total, multiply(g[of], v[partial], out=scratch), out=total)
                    else:
                        g[wrt] = total + g[of] * v[partial]
            else:
                for of, wrt, partial in tape.chain:
                    g[wrt] = g[wrt] + g[of] * v[partial]
            return (v, g) if _finite(g, arrays) else None
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError):
        return None


def _finite(values: list[Any], arrays: bool) -> bool:
    """Tell whether every float among `values` is finite (with `arrays`, numpy vouched for arrays).

    An inf or a nan anywhere makes the sum so; a sum that overflows is a false alarm: a rerun.
    """
    if not arrays:
        return math.isfinite(sum(values))
    import numpy as np  # not lazy.numpy(): no call added to a step

    return math.isfinite(sum(x for x in values if type(x) is not np.ndarray))
