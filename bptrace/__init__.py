"""bptrace: a step-by-step backpropagation tracer for tiny networks written in .bp files."""

__version__ = "0.1.0"
