"""What a SHACL validation found, as plain data: the gate, the change workflow, the explanations
and the error that carries a report all speak it, whichever validator produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["Violation", "Warning", "Info"]


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result, with terms in N-Triples syntax (``<iri>``, ``"lit"@en``, ``_:b``)."""

    focus_node: str
    severity: Severity
    message: str
    source_shape: str
    constraint: str
    path: str | None = None
    value: str | None = None
    details: tuple[ValidationResult, ...] = ()  # results of nested shapes (sh:detail)

    def order(self) -> tuple[bool, str, str, str, str, str, str]:
        """Where the result goes in a report: violations first, then by shape and focus node,
        then by every other field, a total order. pyshacl gives results in an order that
        follows string hashing, which differs from process to process; a report must read the
        same whichever process (or pool of processes) made it."""
        return (
            self.severity != "Violation",
            self.source_shape,
            self.focus_node,
            self.path or "",
            self.constraint,
            self.value or "",
            self.message,
        )


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of a validation: ``conforms`` is false exactly when a Violation was found."""

    results: tuple[ValidationResult, ...] = field(default_factory=tuple)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    @property
    def violations(self) -> tuple[ValidationResult, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")

    @property
    def warnings(self) -> tuple[ValidationResult, ...]:
        return tuple(r for r in self.results if r.severity != "Violation")
