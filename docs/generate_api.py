"""Generate the API reference (``docs/api/*.md``) from the docstrings of the four packages.

Usage::

    python docs/generate_api.py            # (re)write docs/api/
    python docs/generate_api.py --check    # exit 1 if docs/api/ is stale or a docstring is missing

What is documented: for every module of ``simulate``, ``reduce``, ``bifurcation`` and
``case_studies`` (found by walking the packages), the names in its ``__all__`` or, without one,
the public classes and functions defined in it (names without a leading underscore whose
``__module__`` is that module). Each entry shows the call signature and the docstring as written
(numpydoc), and for a class its public methods and properties. Modules are listed in import
order of the flow: simulate → reduce → bifurcation → case_studies.

The collector (:func:`collect`) is also used by ``tests/api_contract/test_api_reference.py``,
which fails when a public name has no docstring.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("simulate", "reduce", "bifurcation", "case_studies")
API_DIR = Path(__file__).resolve().parent / "api"


@dataclass
class Entry:
    """One documented object: a function, a class (with its members) or a constant."""

    qualname: str
    kind: str  # "function" | "class" | "method" | "property" | "module-attribute"
    signature: str
    doc: str
    members: list["Entry"] = field(default_factory=list)


@dataclass
class ModuleDoc:
    name: str
    doc: str
    entries: list[Entry]


def _signature(obj) -> str:
    target = getattr(obj, "py_func", obj)  # numba dispatchers keep the Python function
    try:
        return str(inspect.signature(target))
    except (TypeError, ValueError):
        return "(...)"


def _doc(obj) -> str:
    return inspect.cleandoc(inspect.getdoc(getattr(obj, "py_func", obj)) or "")


def _is_routine(obj) -> bool:
    return inspect.isroutine(obj) or hasattr(obj, "py_func")


def _class_members(cls) -> list[Entry]:
    members = []
    for name, value in cls.__dict__.items():
        if name.startswith("_") and name != "__call__":
            continue
        if isinstance(value, property):
            members.append(Entry(f"{cls.__name__}.{name}", "property", "", _doc(value)))
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            members.append(Entry(f"{cls.__name__}.{name}", "method", _signature(func),
                                 _doc(func)))
    return members


def _public_names(module) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        owner = getattr(getattr(value, "py_func", value), "__module__", None)
        if (inspect.isclass(value) or _is_routine(value)) and owner == module.__name__:
            names.append(name)
    return names


def _defining_module(value) -> str | None:
    return getattr(getattr(value, "py_func", value), "__module__", None)


def _entry(module, name) -> Entry | None:
    value = getattr(module, name)
    if inspect.ismodule(value):
        return None  # documented as a module of its own
    home = _defining_module(value)
    if ((inspect.isclass(value) or _is_routine(value)) and home != module.__name__
            and home is not None and home.split(".")[0] in PACKAGES
            and not home.rsplit(".", 1)[-1].startswith("_")):
        # re-exported: documented once, where it is defined
        return Entry(name, "re-export", home, "")
    if inspect.isclass(value):
        sig = "" if issubclass(value, BaseException) else _signature(value)
        return Entry(name, "class", sig, _doc(value), _class_members(value))
    if _is_routine(value):
        return Entry(name, "function", _signature(value), _doc(value))
    return Entry(name, "module-attribute", "", "")


def iter_modules(package: str):
    """Import ``package`` and every module below it, in sorted order."""
    pkg = importlib.import_module(package)
    yield pkg
    prefix = pkg.__name__ + "."
    for info in sorted(pkgutil.walk_packages(pkg.__path__, prefix), key=lambda i: i.name):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        yield importlib.import_module(info.name)


def collect(packages=PACKAGES) -> dict[str, list[ModuleDoc]]:
    """Collect the documentation of every public object, per package."""
    out = {}
    for package in packages:
        docs = []
        for module in iter_modules(package):
            entries = [e for e in (_entry(module, n) for n in _public_names(module))
                       if e is not None]
            docs.append(ModuleDoc(module.__name__, _doc(module), entries))
        out[package] = docs
    return out


def missing_docstrings(collected, methods: bool = True) -> list[str]:
    """Public modules, functions, classes (and, if ``methods``, methods) without a docstring."""
    missing = []
    for docs in collected.values():
        for mod in docs:
            if not mod.doc:
                missing.append(mod.name)
            for e in mod.entries:
                if e.kind not in ("module-attribute", "re-export") and not e.doc:
                    missing.append(f"{mod.name}.{e.qualname}")
                for m in e.members if methods else ():
                    if not m.doc and m.kind == "method":
                        missing.append(f"{mod.name}.{m.qualname}")
    return missing


def _fence(text: str) -> str:
    return "```text\n" + text + "\n```\n" if text else "*(no docstring)*\n"


def render(package: str, docs: list[ModuleDoc]) -> str:
    lines = [f"# API reference: `{package}`", "",
             "Generated from the docstrings by `python docs/generate_api.py`; do not edit.", ""]
    lines += ["Modules: " + ", ".join(f"[`{m.name}`](#{m.name.replace('.', '')})" for m in docs),
              ""]
    for mod in docs:
        lines += [f"## `{mod.name}`", "", _fence(mod.doc)]
        for e in mod.entries:
            if e.kind == "re-export":
                anchor = e.signature.replace(".", "")
                page = e.signature.split(".")[0] + ".md"
                lines += [f"- `{mod.name}.{e.qualname}`: defined in "
                          f"[`{e.signature}`]({page}#{anchor})", ""]
                continue
            if e.kind == "module-attribute":
                lines += [f"### `{mod.name}.{e.qualname}`", "", "(data)", ""]
                continue
            prefix = "class " if e.kind == "class" else ""
            lines += [f"### {prefix}`{e.qualname}{e.signature}`", "", _fence(e.doc)]
            for m in e.members:
                sig = "" if m.kind == "property" else m.signature
                tag = " *(property)*" if m.kind == "property" else ""
                lines += [f"#### `{m.qualname}{sig}`{tag}", "", _fence(m.doc)]
    return "\n".join(lines).rstrip() + "\n"


def render_all(collected) -> dict[str, str]:
    pages = {f"{p}.md": render(p, d) for p, d in collected.items()}
    index = ["# API reference", "",
             "Generated from the docstrings by `python docs/generate_api.py`. The flow of the",
             "toolkit is simulate → reduce → bifurcation → case_studies:", ""]
    for p, d in collected.items():
        n = sum(1 for m in d for e in m.entries if e.kind != "re-export")
        index.append(f"- [`{p}`]({p}.md): {len(d)} modules, {n} public names")
    pages["index.md"] = "\n".join(index) + "\n"
    return pages


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if docs/api is stale or a docstring is missing")
    ap.add_argument("--out", type=Path, default=API_DIR)
    args = ap.parse_args(argv)
    collected = collect()
    pages = render_all(collected)
    missing = missing_docstrings(collected)
    if args.check:
        stale = [name for name, text in pages.items()
                 if not (args.out / name).exists() or (args.out / name).read_text() != text]
        for name in stale:
            print(f"stale: {args.out / name}")
        for name in missing:
            print(f"no docstring: {name}")
        return 1 if (stale or missing) else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        tmp = args.out / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(args.out / name)
    top = missing_docstrings(collected, methods=False)
    print(f"wrote {len(pages)} pages to {args.out}; without a docstring: {len(top)} public "
          f"modules/classes/functions, {len(missing) - len(top)} methods")
    for name in missing:
        print(f"  no docstring: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
