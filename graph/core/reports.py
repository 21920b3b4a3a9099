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
