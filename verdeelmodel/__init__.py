"""verdeelmodel: distribute the integratie-uitkering sociaal domein over gemeenten,
populations and lots; explain every euro.

    import verdeelmodel as vm
    inst = vm.load_instance("instances/nijmegen-2018")
    res = vm.solve(inst)            # or: model = vm.AllocationModel(inst); res = model.solve()
    res.allocation                  # pandas DataFrame
"""

__version__ = "0.1.0"

from verdeelmodel.api import AllocationModel, Result, SolveOptions, solve  # noqa: E402
from verdeelmodel.instance.problems import InstanceError, Problem  # noqa: E402
from verdeelmodel.instance.validate import Instance, check_instance, load_instance  # noqa: E402

__all__ = ["AllocationModel", "Instance", "InstanceError", "Problem", "Result", "SolveOptions", "check_instance", "load_instance", "solve", "__version__"]
