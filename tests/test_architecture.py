"""The package's shape: imports run one way (core -> cli, core -> ui), no cycles, and the
model library never imports Streamlit or Plotly (statically, and at run time)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import REPO

PACKAGE = REPO / "explorer"
UI_LIBRARIES = ("streamlit", "plotly")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Every module this file imports anywhere in it (also inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def test_the_package_has_no_import_cycle():
    graph = _graph()
    internal = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(internal[module]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(internal):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_run_one_way_and_the_model_library_never_imports_the_ui():
    graph = _graph()
    assert any(m.startswith("explorer.core.") for m in graph) and any(m.startswith("explorer.ui.") for m in graph)
    wrong = []
    for module, deps in graph.items():
        for dep in deps:
            top = dep.split(".")[0]
            if module.startswith(("explorer.core", "explorer.cli")) and (
                    top in UI_LIBRARIES or dep.startswith("explorer.ui")):
                wrong.append(f"{module} imports {dep}")
            if module.startswith("explorer.core") and dep.startswith("explorer.cli"):
                wrong.append(f"{module} imports {dep}")
            if top in ("app", "pages", "bench", "tests"):
                wrong.append(f"{module} imports {dep} (outside the package)")
    assert not wrong, wrong


def test_importing_the_whole_model_library_loads_no_ui_library():
    core = sorted(m for m in _modules() if m.startswith(("explorer.core", "explorer.cli")))
    code = ("import sys\n" + "".join(f"import {m}\n" for m in core)
            + f"bad = [m for m in sys.modules if m.split('.')[0] in {UI_LIBRARIES!r}]\n"
            + "assert not bad, bad\nprint(len(sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_benchmarks_and_test_helpers_live_outside_the_product_package():
    assert not [p for p in PACKAGE.rglob("*.py") if "bench" in p.name]
    assert (REPO / "bench").is_dir() and (REPO / "tests" / "helpers" / "browser.py").is_file()


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in ([root] if root.suffix == ".py" else root.rglob("*.py")))


def test_the_package_and_the_benchmarks_import_nothing_from_the_tests():
    """bench/ and explorer/ never import tests/ (their shared browser driver is
    explorer.testing.browser); tests may import both."""
    modules = _modules()
    wrong = []
    for path in _python_files(PACKAGE, REPO / "bench"):
        for dep in _imports(path, _module_name(path), modules):
            if dep.split(".")[0] in ("tests", "conftest", "helpers"):
                wrong.append(f"{path.relative_to(REPO)} imports {dep}")
    assert not wrong, wrong


#: Where tests live: beside test_architecture.py only the conftest; the rest by what they test.
TEST_FOLDERS = ("core", "ui", "browser", "deploy", "cli")


def test_tests_are_laid_out_like_the_code_and_import_helpers_as_modules():
    """Test modules sit in tests/<core|ui|browser|deploy|cli>/; none imports the conftest
    (its fixtures arrive by name; shared code is in tests/helpers/, imported as modules)."""
    tests = REPO / "tests"
    assert sorted(p.name for p in tests.glob("test_*.py")) == ["test_architecture.py"]
    for folder in TEST_FOLDERS:
        assert list((tests / folder).glob("test_*.py")), folder
    strays = [p.relative_to(REPO) for p in tests.rglob("test_*.py")
              if p.parent != tests and p.parent.name not in TEST_FOLDERS]
    assert not strays, strays
    wrong = []
    for path in _python_files(tests):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names if n.split(".")[0] == "conftest"]
    assert not wrong, wrong


#: The one module that declares Streamlit caches (issue 23: one home per mechanism).
CACHES_MODULE = PACKAGE / "ui" / "state" / "caches.py"


def _streamlit_cache_uses(path: Path) -> list[str]:
    """Where a file uses a Streamlit cache: ``st.cache_data`` / ``st.cache_resource`` (or
    the removed ``st.cache``, ``experimental_memo`` / ``experimental_singleton``) as an
    attribute, or imported by name from streamlit; as ``line: what``."""
    caches = ("cache", "cache_data", "cache_resource", "experimental_memo", "experimental_singleton")
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in caches:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "streamlit":
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names if a.name in caches]
    return found


def test_streamlit_caches_are_declared_in_the_caches_module_only():
    """``st.cache_data`` / ``st.cache_resource`` only in explorer/ui/state/caches.py, so every
    cache and its key can be read in one place (pages, app.py and the package checked)."""
    wrong = {str(path.relative_to(REPO)): uses
             for path in _python_files(PACKAGE, REPO / "pages", REPO / "app.py")
             if path != CACHES_MODULE and (uses := _streamlit_cache_uses(path))}
    assert not wrong, wrong
    # the check sees the caches where they are (it would pass vacuously if it saw none)
    assert len(_streamlit_cache_uses(CACHES_MODULE)) >= 5


#: The most lines a module of explorer/ may have (issue 23: split by job, not by size).
MAX_MODULE_LINES = 400
#: Modules over MAX_MODULE_LINES, with the length they may not exceed; this list may only
#: shrink (each is being split by another change).
LONG_MODULES: dict[str, int] = {}  # none left (figures.py and views/compare.py were split by job)


def test_no_module_of_the_package_is_over_400_lines():
    """One job per module: no module of explorer/ over MAX_MODULE_LINES lines, but for the
    known LONG_MODULES, which may not grow (and leave the list once short enough)."""
    wrong = []
    for path in _python_files(PACKAGE):
        name, lines = str(path.relative_to(REPO)), len(path.read_text().splitlines())
        limit = LONG_MODULES.get(name, MAX_MODULE_LINES)
        if lines > limit:
            wrong.append(f"{name}: {lines} lines (at most {limit})")
        elif name in LONG_MODULES and lines <= MAX_MODULE_LINES:
            wrong.append(f"{name}: {lines} lines now; take it off LONG_MODULES")
    assert not [n for n in LONG_MODULES if not (REPO / n).is_file()], "LONG_MODULES names a missing file"
    assert not wrong, wrong


#: Pages that still import torch or explorer.core (issue 23), with what they import; this
#: list may only shrink: a page lays out and wires views, its computations live in explorer/ui.
#: None is left (pages/train.py was the last).
PAGES_REACHING_PAST_THE_UI: dict[str, set[str]] = {}


def test_pages_import_neither_torch_nor_the_model_library():
    """A page imports Streamlit and explorer.ui (and plain libraries), never torch or
    explorer.core, anywhere in it; the known exceptions may not grow."""
    modules = _modules()
    found = {}
    for path in _python_files(REPO / "pages"):
        deps = _imports(path, _module_name(path), modules)
        bad = {d for d in deps if d.split(".")[0] in ("torch", "torchvision") or d.startswith("explorer.core")}
        if bad:
            found[str(path.relative_to(REPO))] = bad
    grown = {page: bad - PAGES_REACHING_PAST_THE_UI.get(page, set()) for page, bad in found.items()}
    grown = {page: bad for page, bad in grown.items() if bad}
    assert not grown, f"pages importing torch or explorer.core: {grown}"
    stale = {page: bad - found.get(page, set()) for page, bad in PAGES_REACHING_PAST_THE_UI.items()}
    stale = {page: bad for page, bad in stale.items() if bad}
    assert not stale, f"no longer imported, take them off PAGES_REACHING_PAST_THE_UI: {stale}"


#: explorer/ui/ by job (issue 23): its subpackages; no module lies directly in explorer/ui/.
UI_PACKAGES = ("components", "figures", "jobs", "page", "state", "views")
UI = PACKAGE / "ui"


def test_the_ui_is_grouped_by_job_and_the_flat_modules_are_gone():
    """explorer/ui/ holds its __init__.py and the subpackages by job, nothing else: a new
    module goes into the subpackage of its job (docs/architecture.md's layout)."""
    assert sorted(p.name for p in UI.glob("*.py")) == ["__init__.py"]
    folders = sorted(p.name for p in UI.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(UI_PACKAGES)
    assert all((UI / name / "__init__.py").is_file() for name in UI_PACKAGES)
    # the modules that were flat in explorer/ui/ until issue 23 (figures is now the package)
    flat = ("session", "registry", "caches", "browser_decoder", "browser_grid", "jobs",
            "training_job", "twin_job", "layout", "warmup", "map_figure", "charts")
    assert not [m for m in flat if (UI / f"{m}.py").exists()]


def test_browser_components_keep_their_javascript_beside_their_python():
    """Every JavaScript file of the package is in explorer/ui/components/ and is read by a
    module there, so a component's Python, its JS and the wire format change together."""
    scripts = sorted(PACKAGE.rglob("*.js"))
    assert scripts, "no JavaScript found: the check would pass vacuously"
    components = UI / "components"
    assert not [p.relative_to(REPO) for p in scripts if p.parent != components]
    python = "\n".join(p.read_text() for p in components.glob("*.py"))
    assert not [p.name for p in scripts if f'"{p.name}"' not in python], "a JS file no module loads"
    # and each component module loads a script of its own from beside it
    lonely = [p.name for p in components.glob("*.py")
              if p.name != "__init__.py" and not any(f'"{s.name}"' in p.read_text() for s in scripts)]
    assert not lonely, lonely


def test_views_are_the_top_of_the_ui_and_jobs_run_without_it():
    """Only pages and app.py import explorer.ui.views (a view uses state, components and
    figures, never the other way round); explorer.ui.jobs imports no other part of the UI
    and no Streamlit but the session check (jobs/session_watch.py)."""
    graph = _graph()
    wrong = []
    for module, deps in graph.items():
        if not module.startswith("explorer.ui.views") and any(d.startswith("explorer.ui.views") for d in deps):
            wrong.append(f"{module} imports a view")
        if module.startswith("explorer.ui.jobs"):
            wrong += [f"{module} imports {d}" for d in deps
                      if (d.startswith("explorer.ui") and not d.startswith("explorer.ui.jobs"))
                      or (d.split(".")[0] == "streamlit" and module != "explorer.ui.jobs.session_watch")]
    assert any(m.startswith("explorer.ui.jobs.") for m in graph)
    assert not wrong, wrong
