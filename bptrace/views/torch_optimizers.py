"""The optimiser of a PyTorch script (export --torch): torch.optim's where it computes what
bptrace's optimizer computes, else the update written out in bptrace's order (docs/torch.md)."""

from __future__ import annotations

from bptrace.engine.graph import Graph


def optimizer_code(graph: Graph, lr: float) -> str:
    """Return the optimiser's code: torch.optim's where it computes as bptrace, else written out."""
    s = graph.settings
    name = str(s["optimizer"])
    if not graph.params:
        return """

class NoParams:
    \"\"\"Nothing to train: the network has no param.\"\"\"

    def zero_grad(self):
        pass

    def step(self):
        pass


optimizer = NoParams()
"""
    if name == "sgd":
        return f"\n# p ← p − lr·g\noptimizer = torch.optim.SGD(PARAMS.values(), lr={lr!r})\n"
    if name == "momentum" and s["momentum_form"] in ("pytorch", "nesterov"):
        nesterov = s["momentum_form"] == "nesterov"
        what = "v ← μ·v + g, p ← p − lr·(g + μ·v)" if nesterov else "v ← μ·v + g, p ← p − lr·v"
        return (
            f"\n# {what}: torch.optim.SGD's (no dampening)\n"
            f"optimizer = torch.optim.SGD(\n    PARAMS.values(), lr={lr!r}, "
            f"momentum={float(s['momentum'])!r}, nesterov={nesterov}\n)\n"
        )
    if name == "momentum":  # sutskever: torch.optim has no α inside the velocity
        return f'''

class Sutskever:
    """v ← μ·v + lr·g, p ← p − v (Sutskever et al. 2013): torch.optim has no such form."""

    def __init__(self, params):
        self.params, self.velocity = list(params), {{}}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad.item() if p.grad is not None else 0.0
            self.velocity[i] = {float(s["momentum"])!r} * self.velocity.get(i, 0.0) + {lr!r} * g
            p.copy_(torch.tensor(p.item() - self.velocity[i], dtype=torch.float64))


optimizer = Sutskever(PARAMS.values())
'''
    b1, b2, eps = (float(s[k]) for k in ("beta1", "beta2", "eps"))
    return f'''

class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) as bptrace computes it: m̂ = m/(1 − β₁ᵗ),
    v̂ = v/(1 − β₂ᵗ), p ← p − lr·m̂/(√v̂ + ε). torch.optim.Adam computes the same in another
    order (ε added to √v/√(1 − β₂ᵗ)), which differs in the last bits: written out instead."""

    def __init__(self, params):
        self.params, self.m, self.v, self.t = list(params), {{}}, {{}}, 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2, t = {b1!r}, {b2!r}, self.t
        for i, p in enumerate(self.params):
            g = p.grad.item() if p.grad is not None else 0.0
            self.m[i] = b1 * self.m.get(i, 0.0) + (1 - b1) * g
            self.v[i] = b2 * self.v.get(i, 0.0) + (1 - b2) * g * g
            m_hat, v_hat = self.m[i] / (1 - b1**t), self.v[i] / (1 - b2**t)
            after = p.item() - {lr!r} * m_hat / (math.sqrt(v_hat) + {eps!r})
            p.copy_(torch.tensor(after, dtype=torch.float64))


optimizer = Adam(PARAMS.values())
'''
