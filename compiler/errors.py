"""Positions and diagnostics: every problem ivc reports carries where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Mark:
    """A 1-based position in a source file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec or a template.

    ``code`` names the check that found it (``yaml``, ``schema``, ``semantic``,
    ``lint/E3012``...) so machine formats can group results.
    """

    message: str
    mark: Mark | None = None
    severity: str = "error"
    code: str = "spec"
    location: str | None = None  # where there is no file position (a template's resource)
    resource: str | None = None  # the template's logical ID a finding is about
    detail: str | None = None  # the whole story when the message is cut (shown with --debug, json and sarif)

    def render(self) -> str:
        where = str(self.mark) if self.mark else (self.location or "ivc")
        return f"{where}: {self.severity}: {self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.mark:
            return (self.mark.file, self.mark.line, self.mark.col, self.message)
        return (self.location or "", 0, 0, self.message)


@dataclass
class SpecError(Exception):
    """Raised when input cannot be used; carries every diagnostic found."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def fail(message: str, mark: Mark | None = None, code: str = "spec") -> SpecError:
    """Build a SpecError with a single diagnostic (raise the result)."""
    return SpecError([Diagnostic(message, mark, code=code)])


class DeployError(Exception):
    """A failure of ``ivc deploy``, ``diff`` or ``destroy`` to report in one line (exit 1)."""
