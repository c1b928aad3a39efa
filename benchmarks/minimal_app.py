"""The start-up yardstick: a minimal typer app that prints one small rich table (what any such CLI
costs)."""

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False)


@app.command()
def main(name: str = "bptrace") -> None:
    table = Table("node", "value")
    table.add_row(name, "1.1")
    Console().print(table)


if __name__ == "__main__":
    app()
