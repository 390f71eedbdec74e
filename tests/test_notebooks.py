"""Execute every notebook in notebooks/ and fail on any cell error.

The kernel is ``python3``, installed into a temporary JUPYTER_PATH for the Python that runs
the tests. That way a clean CI machine (``pip install -e .[dev]`` into a fresh venv) works, and
a user-level python3 kernelspec that points to another Python cannot take over.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
ipykernel_kernelspec = pytest.importorskip("ipykernel.kernelspec")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A python3 kernelspec for this interpreter, found first through JUPYTER_PATH."""
    prefix = tmp_path_factory.mktemp("jupyter")
    ipykernel_kernelspec.install(kernel_name="python3", prefix=str(prefix))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", os.pathsep.join([str(prefix / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep))
    mp.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugger warning on frozen modules
    scratch = tmp_path_factory.mktemp("scratch")
    mp.setenv("TMPDIR", str(scratch))  # files the notebooks write to tempfile folders land here
    yield prefix
    mp.undo()


def test_notebooks_exist():
    assert PATHS, f"no notebooks in {NOTEBOOKS}"


@pytest.mark.slow  # a kernel per notebook
@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_runs(path: Path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # the kernel's working directory
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name}: a cell failed\n{e}", pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: error outputs {[(o['ename'], o['evalue']) for o in errors]}"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_uses_only_the_public_api(path: Path):
    """Notebooks import ``verdeelmodel`` (and its plots module), never its internals."""
    import re

    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imports = re.findall(r"^\s*(?:from|import)\s+(verdeelmodel[\w.]*)(?:\s+import\s+([\w, ]+))?", code, re.M)
    assert imports, "the notebook should import verdeelmodel"
    for module, names in imports:
        assert module == "verdeelmodel", f"{path.name} imports {module}"
        assert not names or {n.strip() for n in names.split(",")} <= {"plots"}, f"{path.name} imports {names} from verdeelmodel"
