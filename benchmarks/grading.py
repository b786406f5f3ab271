"""Wall time of ``medlab exercises grade`` on a class of generated submissions of lesson 02.

Writes ``--students`` submissions (default 30) of the convolution lesson in nbgrader's layout,
``<student>/<lesson>/<lesson>.ipynb``: the student notebook with every exercise solved, or
with one common mistake (a flipped kernel, the stride ignored, an output size off by one,
padding on every axis) or left unfinished, in turn. Then grades them in a fresh process::

    medlab exercises grade TMP/submitted --out TMP/grades --jobs 2

and prints the wall time, the CPU time of the command and everything it started (worker
processes, kernels), the load average before and after, the rows and the mean points::

    python benchmarks/grading.py                 # 30 students, 2 jobs
    python benchmarks/grading.py --students 60 --jobs 4 --json
    python benchmarks/grading.py --keep /tmp/class   # keep the submissions and grades
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import child_environment, load_average

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: The mistakes, by exercise: (what, function, source).
MISTAKES = [
    ("flipped kernel", "cross_correlate", "import numpy as np\n\ndef cross_correlate(image, kernel):\n"
     "    k = np.flip(kernel)\n    kh, kw = k.shape\n"
     "    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))\n"
     "    for i in range(out.shape[0]):\n        for j in range(out.shape[1]):\n"
     "            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * k)\n    return out\n"),
    ("stride ignored", "conv_output_size", "def conv_output_size(n, k, p, s):\n"
                                           "    return n + 2 * p - k + 1\n"),
    ("off by one", "conv_output_size", "def conv_output_size(n, k, p, s):\n"
                                       "    return (n + 2 * p - k) // s\n"),
    ("every axis padded", "zero_pad", "import numpy as np\n\ndef zero_pad(images, p):\n"
                                      "    return np.pad(images, p)\n"),
]


def write_class(folder, students):
    """Write ``students`` submissions of lesson 02 into ``folder``; return the lesson's stem."""
    import nbformat

    from medlab.course.student_notebook import find_exercises

    (lesson,) = sorted(NOTEBOOKS.glob("02_*.ipynb"))
    solved = nbformat.read(lesson, as_version=4)
    solutions = {f: solved.cells[e.cell].source for e in find_exercises(solved) for f in e.functions}
    released = nbformat.read(NOTEBOOKS / "exercises" / lesson.name, as_version=4)
    for number in range(students):
        nb = nbformat.reads(nbformat.writes(released), as_version=4)
        kind = number % (len(MISTAKES) + 2)  # right, each mistake, unfinished
        code = {} if kind == len(MISTAKES) + 1 else dict(solutions)
        if 1 <= kind <= len(MISTAKES):
            _, function, source = MISTAKES[kind - 1]
            code[function] = source
        for cell in nb.cells:
            for function, source in code.items():
                if cell.cell_type == "code" and f"def {function}(" in cell.source \
                        and "exercise" in cell.metadata.get("tags", []):
                    cell.source = source
        path = folder / f"student{number:03d}" / lesson.stem / lesson.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    return lesson.stem


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", metavar="DIR", help="write the class and grades here (kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medlab-grading-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        submitted, grades = folder / "submitted", folder / "grades"
        write_class(submitted, args.students)
        command = [sys.executable, "-m", "medlab", "exercises", "grade", str(submitted),
                   "--out", str(grades), "--jobs", str(args.jobs), "--notebooks", str(NOTEBOOKS)]
        load_before = load_average()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=child_environment(), capture_output=True, text=True)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        with open(grades / "gradebook.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    students = {row["student"] for row in rows}
    result = {"students": len(students), "rows": len(rows), "jobs": args.jobs,
              "seconds": round(seconds, 1),
              "cpu_seconds": round(after.ru_utime + after.ru_stime - children.ru_utime
                                   - children.ru_stime, 1),
              "mean_points": round(sum(float(row["points"]) for row in rows) / len(students), 2),
              "load_before": load_before, "load_after": load_average()}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"command: medlab exercises grade SUBMITTED --out GRADES --jobs {args.jobs}")
        for key, value in result.items():
            print(f"{key:12} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
