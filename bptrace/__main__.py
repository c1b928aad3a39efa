"""Allow `python -m bptrace`."""

from bptrace.cli import main

main()
