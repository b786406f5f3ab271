"""Read a notebook's cells and its ``parameters`` cell with ``json`` and ``ast`` only.

(nbformat and papermill take 1 to 3 s to import; the command line must start in under 1 s.)
"""

from __future__ import annotations

import ast
import json
import tokenize
from io import StringIO
from pathlib import Path

__all__ = ["NotebookError", "code_cells", "notebook_parameters", "read_notebook"]


class NotebookError(ValueError):
    """A file that is not a readable Jupyter notebook."""


def read_notebook(path):
    """The notebook at ``path`` as a dict (JSON), checked to have a list of cells."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such notebook") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path}: not a Jupyter notebook (invalid JSON: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells)")
    return nb


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
        except SyntaxError as exc:
            raise NotebookError(f"{Path(path).name}: the parameters cell is not valid Python "
                                f"(line {exc.lineno}: {exc.msg})") from None
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
