"""The tutorials in docs/tutorials run from top to bottom (at reduced size).

Each notebook is executed in a fresh kernel with ``LOCALLEARN_TUTORIAL_QUICK=1``, which the
notebooks read to shrink their runs (a second or two of simulated time on the numpy runtime);
they write only under a temporary directory. The notebooks are committed without outputs; a test
checks that too.
"""

import glob
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "docs", "tutorials", "*.ipynb")))


def test_tutorials_exist():
    names = {os.path.basename(p) for p in NOTEBOOKS}
    assert {"run-protocol.ipynb", "own-rule.ipynb", "sweep.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{os.path.basename(path)}: clear the outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALLEARN_TUTORIAL_QUICK", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))        # the notebooks' temporary directory
    # the kernel is this environment's ipykernel (a user's own "python3" kernelspec, which may
    # point at another Python, is not looked up), and IPython's history stays in tmp_path
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
