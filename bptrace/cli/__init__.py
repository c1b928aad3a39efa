"""The command line: options, commands, files read and written, signals and streams."""
