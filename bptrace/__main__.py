"""Allow `python -m bptrace`."""

from bptrace.cli.app import main

main()
