"""SPARQL 1.1 Update as a change: what an update would remove and add, computed without writing.

The planner (``ijkg.graph.store.update_plan``) and the one interpreter of update effects that both
stores share (``ijkg.graph.store.effects``) live in the store layer; this module names them for
the layers above.
"""

from ijkg.graph.store.effects import Effect, Lookup, compute, too_large, update_effect
from ijkg.graph.store.update_plan import (
    ClearStep,
    CopyStep,
    DataStep,
    PatternStep,
    Step,
    check_syntax,
    instantiate,
    plan_update,
)

__all__ = [
    "ClearStep",
    "CopyStep",
    "DataStep",
    "Effect",
    "Lookup",
    "PatternStep",
    "Step",
    "check_syntax",
    "compute",
    "instantiate",
    "plan_update",
    "too_large",
    "update_effect",
]
