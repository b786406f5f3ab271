"""Read a notebook's cells and its ``parameters`` cell with ``json`` and ``ast`` only.

(nbformat and papermill take 1 to 3 s to import; the command line must start in under 1 s.)
"""

from __future__ import annotations

import ast
import json
import tokenize
from io import StringIO
from pathlib import Path

from medlab import files

__all__ = ["NotebookError", "code_cells", "notebook_parameters", "read_notebook"]


class NotebookError(ValueError):
    """A file that is not a readable Jupyter notebook."""


def read_notebook(path):
    """The notebook at ``path`` as a dict (JSON), checked to be a Jupyter notebook of format 4
    with the structure papermill and nbformat need (cells with a type, source and metadata).

    Raises FileNotFoundError when there is no such file, NotebookError (one line naming the
    file and what is wrong) when it is not a readable notebook.
    """
    path = Path(path)
    kind = files.kind_of_path(path)
    if kind is None and not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook")
    if kind:  # a FIFO would be read forever
        raise NotebookError(f"{path}: {kind}, not a notebook file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such notebook") from None
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read it ({exc.strerror})") from None
    if not data.strip():
        raise NotebookError(f"{path}: not a Jupyter notebook (the file is empty)")
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a Jupyter notebook (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path}: not a Jupyter notebook (invalid JSON: {exc})") from None
    except RecursionError:
        raise NotebookError(f"{path}: not a Jupyter notebook (its JSON is nested too deeply)") \
            from None
    fault = _structure_fault(nb)
    if fault:
        raise NotebookError(f"{path}: not a Jupyter notebook ({fault})")
    return nb


def _kind(value):
    return "None" if value is None else type(value).__name__


def _structure_fault(nb):
    """What keeps ``nb`` (parsed JSON) from being a format-4 notebook, or ""."""
    if not isinstance(nb, dict):
        return f"the JSON is a {_kind(nb)}, not a notebook object"
    if "cells" not in nb:
        if nb.get("nbformat") in (1, 2, 3) or "worksheets" in nb:
            return (f"the old notebook format {nb.get('nbformat', 3)}: open and save it in "
                    "Jupyter to convert it to format 4")
        return "no 'cells'"
    if not isinstance(nb["cells"], list):
        return f"'cells' is {_kind(nb['cells'])}, expected a list of cells"
    if nb.get("nbformat") != 4 or isinstance(nb.get("nbformat"), bool):
        return f"'nbformat' is {nb.get('nbformat')!r}, expected 4"
    minor = nb.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        return f"'nbformat_minor' is {_kind(minor)}, expected an integer >= 0"
    if not isinstance(nb.get("metadata"), dict):
        return f"'metadata' is {_kind(nb.get('metadata'))}, expected an object"
    for number, cell in enumerate(nb["cells"], start=1):  # as counted from the top in Jupyter
        fault = _cell_fault(cell)
        if fault:
            return f"cell {number}{fault}"
    return ""


def _cell_fault(cell):
    if not isinstance(cell, dict):
        return f" is {_kind(cell)}, expected an object"
    kind = cell.get("cell_type")
    if kind not in ("code", "markdown", "raw"):
        return f": 'cell_type' is {kind!r}, expected code, markdown or raw"
    if "source" not in cell:
        return ": no 'source'"
    source = cell["source"]
    if not (isinstance(source, str)
            or isinstance(source, list) and all(isinstance(line, str) for line in source)):
        return f": 'source' is {_kind(source)}, expected text or a list of lines"
    if "metadata" not in cell:
        return ": no 'metadata'"
    if not isinstance(cell["metadata"], dict):
        return f": 'metadata' is {_kind(cell['metadata'])}, expected an object"
    tags = cell["metadata"].get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return f": 'tags' is {_kind(tags)}, expected a list of texts"
    if kind == "code" and not isinstance(cell.get("outputs", []), list):
        return f": 'outputs' is {_kind(cell['outputs'])}, expected a list"
    return ""


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def code_cells(nb):
    """[(index, source, tags)] of the notebook's code cells."""
    return [(index, _source(cell), list(cell.get("metadata", {}).get("tags", [])))
            for index, cell in enumerate(nb["cells"]) if cell.get("cell_type") == "code"]


def _comments(source):
    """{line number: comment text} of the source's ``#`` comments."""
    comments = {}
    try:
        for token in tokenize.generate_tokens(StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return comments


def notebook_parameters(path):
    """The parameters of the cell tagged ``parameters``, as ``papermill.inspect_notebook``
    gives them: name -> {name, inferred_type_name, default, help}.

    ``kernel_size: int = 3  # side of the kernel`` gives ``{"kernel_size": {"name":
    "kernel_size", "inferred_type_name": "int", "default": "3", "help": "side of the
    kernel"}}`` (texts as written; the type ``"None"`` when not annotated). Empty when no
    cell is tagged ``parameters``.

    Raises
    ------
    NotebookError
        The file is not a notebook, or its parameters cell is not valid Python.
    """
    nb = read_notebook(path)
    for _, source, tags in code_cells(nb):
        if "parameters" not in tags:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as exc:  # null bytes: ValueError before Python 3.11.4
            where = f"line {exc.lineno}: {exc.msg}" if getattr(exc, "lineno", None) \
                else getattr(exc, "msg", str(exc))
            raise NotebookError(f"{Path(path).name}: the parameters cell is not valid Python "
                                f"({where})") from None
        comments = _comments(source)
        found = {}
        for statement in tree.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                targets, kind = [statement.target], ast.get_source_segment(source, statement.annotation)
            elif isinstance(statement, ast.Assign):
                targets, kind = [t for t in statement.targets if isinstance(t, ast.Name)], None
            else:
                continue
            default = ast.get_source_segment(source, statement.value) if statement.value else None
            for target in targets:
                found[target.id] = {"name": target.id, "inferred_type_name": kind or "None",
                                    "default": default,
                                    "help": comments.get(statement.end_lineno, "")}
        return found
    return {}
