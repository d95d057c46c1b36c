"""Every module imports alone (transitions' tests/test_imports.py does the same for its own).

An import circle shows only when a module is the first one imported: `import meetings.cli`
used to fail with "partially initialised module" while it worked when entered through the
command line's root. So each module is imported first, in one fresh interpreter that forgets
the project's modules (and the tables SQLModel keeps of them) before each one. Libraries stay
loaded: they cannot take part in a circle of ours, and an interpreter per module would cost
a minute.
"""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("workflow", "cases", "meetings", "notifications", "views", "web", "demo", "cli",
            "bench")

IMPORT_EACH_ALONE = """
import importlib, sys, traceback
packages, modules = sys.argv[1].split(","), sys.argv[2:]
failed = []
for name in modules:
    for loaded in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[loaded]
    if "sqlmodel" in sys.modules:  # the tables are kept by the library: forget them too
        from sqlmodel import SQLModel
        from sqlmodel.main import default_registry
        SQLModel.metadata.clear()
        default_registry.dispose()
        default_registry._class_registry.clear()
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def project_modules() -> list[str]:
    found = ["celeryconfig"]
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            parts = path.relative_to(PROJECT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    # The load benchmark's Locust file and floor app are scripts read by the processes the
    # benchmark starts (with their environment set), and Locust is a bench extra.
    scripts = {"bench.__main__", "bench.locustfile", "bench.floor"}
    return [name for name in found if name not in scripts]


def test_it_finds_the_modules_of_every_package():
    modules = project_modules()
    assert {"cli.main", "views.case", "workflow.machine", "notifications.tasks"} <= set(modules)
    assert len(modules) > 60


@pytest.mark.slow
def test_it_imports_every_module_alone():
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE, ",".join(PACKAGES),
                             *project_modules()], cwd=PROJECT, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_reports_a_module_that_cannot_be_imported_first(tmp_path):
    """The check itself: a circle between two modules is caught when either comes first."""
    package = tmp_path / "circle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circle.b import B\nA = 1\n")
    (package / "b.py").write_text("from circle.a import A\nB = 2\n")
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE, "circle", "circle.a"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "circle.a: ImportError" in result.stdout
