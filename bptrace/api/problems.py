"""A mistake in a network, as the API raises it: at file:line:col, its line quoted."""

from __future__ import annotations

from bptrace import errors


class NetworkError(errors.NetworkError):
    """A mistake in a network, at `file`:`line`:`col`; str() is the whole diagnostic, the line
    quoted and the culprit underlined."""

    def __init__(
        self, message: str, span: errors.Span, hint: str | None, file: str, source: str
    ) -> None:
        super().__init__(message, span, hint)
        self.file, self.source = file, source

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def __str__(self) -> str:
        from bptrace.language.diagnostics import format_diagnostic

        return format_diagnostic(self.file, self.source, self.span, self.message, self.hint)


class Named:
    """Raise a NetworkError met inside as the public one, naming the file and quoting its text."""

    def __init__(self, name: str, source: str) -> None:
        self.name, self.source = name, source

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, errors.NetworkError) and not isinstance(error, NetworkError):
            raise NetworkError(
                error.message, error.span, error.hint, self.name, self.source
            ) from None
