"""verdeelmodel: distribute the integratie-uitkering sociaal domein over gemeenten,
populations and lots; share the risk of high-cost care; size the reserves; explain every euro.

    import verdeelmodel as vm
    inst = vm.load_instance("instances/nijmegen-2018")
    res = vm.solve(inst)            # or: model = vm.AllocationModel(inst); res = model.solve()
    res.allocation                  # pandas DataFrames, one per table
    vm.pool(inst), vm.reserves(inst), vm.sweep(inst, [{"demand:jeugd": 1.1}])

Names are imported when first used (PEP 562): ``import verdeelmodel`` and the command line's
``--help`` do not load the model stack.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # load and check an instance
    "Instance": "verdeelmodel.instance.validate",
    "load_instance": "verdeelmodel.instance.validate",
    "check_instance": "verdeelmodel.instance.validate",
    "InstanceError": "verdeelmodel.errors",
    "Problem": "verdeelmodel.errors",
    "UsageError": "verdeelmodel.errors",
    # allocation
    "AllocationModel": "verdeelmodel.api",
    "SolveOptions": "verdeelmodel.api",
    "solve": "verdeelmodel.api",
    "Result": "verdeelmodel._results",
    # pooling, reserves, sweeps
    "pool": "verdeelmodel.workflows",
    "reserves": "verdeelmodel.workflows",
    "fairness": "verdeelmodel.workflows",
    "plan": "verdeelmodel.workflows",
    "close": "verdeelmodel.workflows",
    "contract": "verdeelmodel.workflows",
    "ContractResult": "verdeelmodel.workflows",
    "CloseResult": "verdeelmodel.workflows",
    "PlanResult": "verdeelmodel.workflows",
    "FairnessResult": "verdeelmodel.workflows",
    "sweep": "verdeelmodel.workflows",
    "PoolResult": "verdeelmodel.workflows",
    "ReservesResult": "verdeelmodel.workflows",
    "SweepResult": "verdeelmodel.workflows",
    "NoAllocation": "verdeelmodel.workflows",
    "planned_cost": "verdeelmodel.workflows",
    "rules_of": "verdeelmodel.models.rules",
    "Rule": "verdeelmodel.models.rules",
    "RATINGS": "verdeelmodel.models.reserves",
    "rating": "verdeelmodel.models.reserves",
    "var_cvar": "verdeelmodel.models.reserves",
    # the formulation's manifest
    "FAMILIES": "verdeelmodel.models.manifest",
    "Stage": "verdeelmodel.models.manifest",
    # writing results
    "write_all": "verdeelmodel.reports",
    # bigger instances for the scale benchmarks
    "split_areas": "verdeelmodel.scale",
    "split_lots": "verdeelmodel.scale",
    "manifest": "verdeelmodel.reports",
    # where independent work runs: serial, local processes, a Dask cluster (docs/scale.md)
    "executor": "verdeelmodel.executors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'verdeelmodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
