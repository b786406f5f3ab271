"""The ``medlab`` command line.

::

    medlab data synth --n 1000 --out data/synth.npz     # synthetic chest X-rays, MedMNIST format
    medlab data fetch pneumoniamnist                     # official MedMNIST file, MD5 checked
    medlab data export data/synth.npz --out data/synth_png --split train
    medlab data info data/synth.npz                      # also DICOM, NIfTI, image folders
    medlab run notebooks/02_convolution.ipynb -p kernel_size 7       # papermill, into runs/
    medlab sweep notebooks/02_convolution.ipynb --grid kernel_size=3,5 stride=1,2 --jobs 2
    medlab sweep notebooks/02_convolution.ipynb --grid kernel_size=3,5 --cluster local  # Dask
    medlab course                                        # every lesson: is this machine ready?
    medlab exercises release                             # student notebooks, never over their work
    medlab exercises check
    medlab book                                          # the course as a website, build/book/html

Start-up stays under a second: this module imports only the standard library at the
top; each handler imports what it needs (numpy, the data modules, papermill in a child
process), and only the chosen command's parser is built. TensorFlow is never imported.

Also ``python -m medlab ...``. ``main(argv)`` returns the exit code: 0 on
success, 1 when the work fails (bad file, offline, ...), 2 for bad usage.
Errors are one line on stderr, ``medlab: error: ...``, without a traceback.

Adding a command
----------------
Register a function that configures the sub-parser and sets a handler
(``from medlab.course.commands import register_command``)::

    @register_command("train", help="train a model from a config file")
    def _configure_train(parser):
        parser.add_argument("config")
        parser.set_defaults(handler=_train)   # _train(args) -> int exit code

    def _train(args):
        ...
        return 0

Handlers raise ``CLIError`` (or ``ValueError`` / ``OSError``) with a
one-line message for expected failures. Commands defined in another module
are found if the module is listed in ``COMMAND_MODULES``; keep their top-level imports
light (``benchmarks/startup.py`` measures ``medlab --help``).
"""

from __future__ import annotations

import functools
import importlib
import signal
import sys
from pathlib import Path

#: Modules whose import registers further commands (besides this one).
COMMAND_MODULES: list[str] = []

from medlab.course import cli_data, commands  # noqa: E402
from medlab.course.commands import CLIError, Parser, register_command, show_progress  # noqa: E402

#: Modules whose commands are registered when they are imported, above: first ``medlab data``.
REGISTERED_BY_IMPORT = (cli_data,)

def build_parser(argv=None):
    """The ``medlab`` argument parser.

    Every registered command is listed; only the one named in ``argv`` (all of them when
    ``argv`` is None) gets its arguments, so ``medlab --help`` imports nothing heavy.
    """
    from medlab import __version__

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = Parser(
        prog="medlab",
        description="medlab: deep learning for medical image analysis, a teaching kit.",
    )
    parser.add_argument("--version", action="version", version=f"medlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command",
                                     required=True)
    chosen = None if argv is None else next((a for a in argv if a in commands.COMMANDS), "")
    for name, (help_text, configure) in commands.COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if chosen is None or name == chosen:
            configure(sub)
    return parser


def main(argv=None):
    """Run the ``medlab`` command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 success, 1 failure of the work, 2 bad usage, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args) or 0)
    except SystemExit as exc:  # --help and --version exit 0 from argparse
        return exc.code if isinstance(exc.code, int) else 0
    except CLIError as exc:
        print(f"medlab: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # includes FileNotFoundError, DownloadError
        print(f"medlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("medlab: interrupted", file=sys.stderr)
        return 130


# --------------------------------------------------------------------------
# medlab run / sweep / course  (logic in medlab.course.runs)
# --------------------------------------------------------------------------
def _add_parameter_option(parser, help):
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), dest="parameters", help=help)


def _terminate_as_interrupt(handler):
    """SIGTERM (``kill``, ``timeout``) stops the handler as Ctrl-C does: kernels shut
    down, temporary files removed, finished runs kept, exit code 130."""

    @functools.wraps(handler)
    def wrapper(args):
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        try:
            previous = signal.signal(signal.SIGTERM, interrupt)
        except ValueError:  # not the main thread: leave signals alone
            return handler(args)
        try:
            return handler(args)
        finally:
            signal.signal(signal.SIGTERM, previous)

    return wrapper


def _parameters(pairs):
    from medlab.course.naming import parse_value

    return {name: parse_value(value) for name, value in pairs}


def _add_timeout_option(parser):
    from medlab.course.runs import DEFAULT_TIMEOUT

    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"seconds one cell may run before the run is stopped as failed (default "
             f"{DEFAULT_TIMEOUT}; 0: no limit; a fraction is rounded up to whole seconds)")


def _add_cluster_options(parser):
    parser.add_argument(
        "--cluster", metavar="ADDRESS",
        help="run each notebook as a task on Dask distributed: 'local' starts a local cluster "
             "of worker processes (and stops it), tcp://HOST:8786 connects to a running "
             "scheduler. Outputs come back to this machine, into the same folder. Needs the "
             "optional extra: pip install -e \".[cluster]\"")
    parser.add_argument(
        "--cluster-wait", type=float, default=None, metavar="SECONDS",
        help="with --cluster: seconds (finite, > 0) to wait while no worker is connected "
             "before the runs still out fail (default 600)")


def _cluster_arguments(args):
    """``(cluster, wait)`` from ``--cluster`` and ``--cluster-wait``, checked."""
    if args.cluster_wait is not None and args.cluster is None:
        raise CLIError("--cluster-wait is used only with --cluster")
    if args.cluster is not None:
        from medlab.course import cluster

        if args.cluster_wait is not None:
            try:
                cluster.check_wait(args.cluster_wait, "--cluster-wait")
            except ValueError as exc:  # nan, inf, 0 or less
                raise CLIError(str(exc)) from None
        cluster.require_dask()
    return args.cluster, args.cluster_wait


def _cluster_errors(handler):
    """A cluster that cannot take the runs (no Dask, no scheduler, no worker) is one line
    on stderr and exit status 1."""

    @functools.wraps(handler)
    def wrapper(args):
        try:
            return handler(args)
        except Exception as exc:
            if getattr(args, "cluster", None) is None:
                raise
            from medlab.course.cluster import ClusterError  # standard library only

            if not isinstance(exc, ClusterError):
                raise
            print(f"medlab: error: {exc}", file=sys.stderr)
            return 1

    return wrapper


def _timeout(args):
    """``--timeout`` as whole seconds (rounded up), None for no limit; nan, inf and
    negatives refused."""
    from medlab.course.processes import check_timeout

    try:
        return check_timeout(args.timeout, "--timeout")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


@register_command("run", help="run a notebook with papermill, with parameters, into runs/")
def _configure_run(parser):
    parser.description = (
        "Execute NOTEBOOK with papermill (kernel python3, in the notebook's folder) into "
        "OUT/NAME.ipynb, default runs/<notebook stem>/<timestamp>.ipynb, never overwriting. "
        "What the notebook records with medlab.report.record(...) goes to "
        "OUT/NAME.metrics.json. A failing cell stops the run with its error.")
    parser.add_argument("notebook", metavar="NOTEBOOK")
    _add_parameter_option(parser, "set a parameter; VALUE converted as papermill -p does "
                                  "(True/False/None, int, float, else text); repeatable")
    parser.add_argument("--out", metavar="DIR", help="folder for the output "
                                                     "(default runs/<notebook stem>)")
    parser.add_argument("--name", help="output name without .ipynb (default: a timestamp)")
    _add_timeout_option(parser)
    parser.set_defaults(handler=_run)


@_terminate_as_interrupt
def _run(args):
    from medlab.course import naming, runs

    timeout = _timeout(args)
    output = naming.new_output_path(args.notebook, args.out, args.name)
    try:
        result = runs.run_notebook(args.notebook, _parameters(args.parameters), output,
                                   timeout=timeout)
    except runs.RunFailed as exc:
        if exc.notebook:
            print(f"partial output: {naming.relative_path(exc.notebook)}")
        print(f"medlab: error: {Path(args.notebook).name}: {exc}", file=sys.stderr)
        return 1
    print(f"output:  {naming.relative_path(result.output)} ({result.seconds:.1f} s)")
    if result.metrics_path:
        print(f"metrics: {naming.relative_path(result.metrics_path)}  "
              + runs.format_metrics(result.metrics, limit=8))
    else:
        print("metrics: none (the notebook did not call medlab.report.record)")
    return 0


@register_command("sweep", help="run a notebook once per combination of parameter values")
def _configure_sweep(parser):
    parser.description = (
        "Run NOTEBOOK with papermill once per combination of the --grid values into "
        "runs/<sweep>/<combination>.ipynb, then write summary.csv, summary.md and "
        "summary.png there. Finished runs are kept and skipped when the same sweep is run "
        "again (after a failure or Ctrl-C); a failed run is reported and the sweep goes on.")
    parser.add_argument("notebook", metavar="NOTEBOOK", nargs="?",
                        help="the notebook (before or after --grid)")
    parser.add_argument("--grid", nargs="+", action="extend", required=True,
                        metavar="NAME=V1,V2", help="values to sweep, e.g. learning_rate=1e-4,1e-3 "
                                                   "kernel_size=3,5 (converted as papermill -p)")
    _add_parameter_option(parser, "a parameter fixed for every run; repeatable")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="runs at the same time, each in its own process (default 1); "
                             "with --cluster local: its worker processes (default: the cores)")
    parser.add_argument("--name", help="sweep name (default: notebook stem and a hash of the "
                                       "grid, so the same sweep finds its earlier runs)")
    parser.add_argument("--out", metavar="DIR", help="sweep folder (default runs/<sweep name>)")
    parser.add_argument("--repair", action="store_true",
                        help="rebuild a damaged or lost sweep.json from the runs' status files "
                             "(the damaged file is kept as sweep.damaged.json), then go on")
    _add_timeout_option(parser)
    _add_cluster_options(parser)
    parser.set_defaults(handler=_sweep)


@_terminate_as_interrupt
@_cluster_errors
def _sweep(args):
    from medlab.course import naming, runs

    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs {args.jobs}: expected at least 1")
    cluster, wait = _cluster_arguments(args)
    if cluster not in (None, "local") and args.jobs is not None:
        raise CLIError(f"--jobs {args.jobs} with --cluster {cluster}: the cluster's workers "
                       "decide how many runs go at once; leave --jobs out")
    notebook, specs = _split_notebook_from_grid(args.notebook, args.grid)
    rows = runs.sweep(notebook, naming.parse_grid(specs), _parameters(args.parameters),
                      jobs=args.jobs, out=args.out, name=args.name, timeout=_timeout(args),
                      progress=show_progress(), cluster=cluster, cluster_wait=wait,
                      repair=args.repair)
    return 0 if all(row["status"] == "ok" for row in rows) else 1


def _split_notebook_from_grid(notebook, specs):
    """``--grid`` takes every word up to the next option, so a notebook written after it
    lands among the grid specs: take it back (the one spec without ``=``)."""
    loose = [spec for spec in specs if "=" not in spec]
    if notebook is None and len(loose) == 1:
        return loose[0], [spec for spec in specs if spec != loose[0]]
    if notebook is None:
        raise CLIError("the following arguments are required: NOTEBOOK (give it before or "
                       "after --grid NAME=V1,V2 ...)")
    return notebook, specs


@register_command("course", help="run every lesson in order: is this machine ready for class?")
def _configure_course(parser):
    parser.description = (
        "Run every numbered notebook (notebooks/NN_*.ipynb) in order with papermill into a new "
        "folder, default runs/course-<timestamp>, and print a table of notebook, status and "
        "seconds. Exit status 1 if any notebook failed.")
    parser.add_argument("--dataset", metavar="NAME",
                        help="passed as -p dataset NAME to the notebooks that have a dataset "
                             "parameter (synthetic, pneumoniamnist or a path)")
    parser.add_argument("--out", metavar="DIR", help="new folder for the outputs "
                                                     "(default runs/course-<timestamp>)")
    parser.add_argument("--notebooks", metavar="DIR",
                        help="folder of the lessons (default notebooks/)")
    _add_timeout_option(parser)
    _add_cluster_options(parser)
    parser.set_defaults(handler=_course)


@_terminate_as_interrupt
@_cluster_errors
def _course(args):
    from medlab.course import naming, runs

    timeout = _timeout(args)
    cluster, wait = _cluster_arguments(args)
    paths = runs.course_notebooks(args.notebooks)
    if args.dataset is not None and not any(runs.has_parameter(p, "dataset") for p in paths):
        print(f"note: no notebook has a dataset parameter; --dataset {args.dataset} is not used")
    folder = Path(args.out) if args.out else naming.new_course_folder()
    width = max(len("notebook"), *(len(p.stem) for p in paths))
    header = [f"{'notebook':<{width}}  status   seconds"]

    def echo(row):
        while header:
            print(header.pop())
        print(f"{row['notebook']:<{width}}  {row['status']:<7} {row['seconds']:8.1f}"
              + (f"  {row['error']}" if row["error"] else ""), flush=True)

    rows = runs.course(dataset=args.dataset, out=folder, notebooks=args.notebooks,
                       timeout=timeout, echo=echo, cluster=cluster, cluster_wait=wait)
    failed = sum(row["status"] != "ok" for row in rows)
    where = f"outputs and summary in {naming.relative_path(folder)}"
    if failed:
        print(f"{failed} of {len(rows)} notebooks failed; {where}")
        return 1
    print(f"all {len(rows)} notebooks ran: this machine is ready for class; {where}")
    return 0


# --------------------------------------------------------------------------
# medlab exercises release / check  (logic in medlab.course.exercises)
# --------------------------------------------------------------------------
@register_command("exercises", help="write the student notebooks from the solution notebooks")
def _configure_exercises(parser):
    actions = parser.add_subparsers(title="exercises commands", metavar="COMMAND",
                                    dest="exercises_command", required=True)
    release = actions.add_parser(
        "release", help="write notebooks/exercises/ from the numbered lessons",
        description="For every numbered lesson with solution blocks (### BEGIN SOLUTION ... "
                    "### END SOLUTION), write OUT/<lesson>.ipynb with each block replaced by its "
                    "hint and raise NotImplementedError, exercise outputs cleared and check cells "
                    "showing what medlab.checks prints for an unfinished function. Running it "
                    "twice changes nothing. A student notebook that differs from what the "
                    "previous release wrote (OUT/MANIFEST.json) is never overwritten: release "
                    "refuses and names it, unless --force.")
    release.add_argument("--force", action="store_true",
                         help="also write over student notebooks that hold edits, after keeping "
                              "a copy of each in OUT/.backups/<lesson>-<timestamp>.ipynb "
                              "(a folder that git and pytest ignore)")
    check = actions.add_parser(
        "check", help="say which student notebooks are stale, missing or hold edits",
        description="Compare OUT/<lesson>.ipynb with what 'medlab exercises release' wrote "
                    "and would write now: 'stale' (the lesson changed: the instructor releases "
                    "again), 'has edits' (a student's work, which release keeps), 'missing', "
                    "'orphan'; a numbered notebook that release did not write (a student's copy, "
                    "e.g. NN_name-Copy1.ipynb) is named and left alone. Exit 1 if any student "
                    "notebook is not up to date.")
    release.add_argument("--nbgrader", metavar="DIR",
                         help="also write each lesson with exercises as an nbgrader source "
                              "assignment, DIR/source/<lesson>/<lesson>.ipynb (solution cells, "
                              "read-only autograder test cells with points), for 'nbgrader "
                              "generate_assignment', 'autograde' and 'generate_feedback'")
    for sub, handler in ((release, _exercises_release), (check, _exercises_check)):
        sub.add_argument("--notebooks", metavar="DIR",
                         help="folder of the solution notebooks (default notebooks/)")
        sub.add_argument("--out", metavar="DIR",
                         help="folder of the student notebooks (default NOTEBOOKS/exercises); "
                              "never the lessons' folder, a folder holding it, or one holding "
                              "lessons with solution blocks")
        sub.set_defaults(handler=handler)
    grade = actions.add_parser(
        "grade", help="grade a folder of submissions: gradebook.csv, summary.md, feedback",
        description="Grade every notebook of SUBMISSIONS (nbgrader's layout "
                    "<student>/<lesson>/<notebook>.ipynb, or a flat folder of "
                    "<student>*.ipynb) with the course's own checks, each on a copy in a fresh "
                    "kernel, and write OUT/gradebook.csv (student, lesson, exercise, passed, "
                    "cases, points, max, mistake, hint, error, notebook), OUT/summary.md (the "
                    "mistakes the class made most, per exercise) and OUT/feedback/<student>.html. "
                    "Points are partial: max x test cases passed / cases. A bad submission "
                    "(raises, hangs, kills its kernel, not a notebook) gets a row and costs only "
                    "its own points.")
    grade.add_argument("submissions", metavar="SUBMISSIONS", help="folder of the submissions")
    grade.add_argument("--out", metavar="DIR", required=True,
                       help="folder for the gradebook, summary and feedback: new, empty or "
                            "written by an earlier grading (nothing else is overwritten)")
    grade.add_argument("--lesson", metavar="NAME",
                       help="the lesson of every submission, e.g. 02_convolution (default: "
                            "from the folder or file names, else the notebook's functions)")
    grade.add_argument("--notebooks", metavar="DIR",
                       help="folder of the solution notebooks (default notebooks/)")
    grade.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="submissions graded at once, each in its own process (default: "
                            "the cores)")
    grade.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="seconds one cell or one exercise's check may run (default 120)")
    grade.add_argument("--notebook-timeout", type=float, default=None, metavar="SECONDS",
                       help="seconds for a whole submission (default 600)")
    grade.add_argument("--case-timeout", type=float, default=None, metavar="SECONDS",
                       help="seconds a student's function may take on one test case "
                            "(default 10)")
    grade.add_argument("--no-feedback", action="store_true",
                       help="write no feedback HTML (faster)")
    _add_cluster_options(grade)
    grade.set_defaults(handler=_exercises_grade)


def _exercises_release(args):
    from medlab.course import exercises

    report = exercises.release(args.notebooks, args.out, force=args.force)
    for path, status in report:
        print(f"{exercises.relative_path(path)}: {status}")
    if not report:
        print("no lesson has exercises (### BEGIN SOLUTION): nothing to release")
    if args.nbgrader:
        from medlab.course import nbgrader_export

        for path in nbgrader_export.export(args.nbgrader, args.notebooks):
            print(f"{exercises.relative_path(path)}: written (nbgrader source assignment)")
    return 0


@_terminate_as_interrupt
@_cluster_errors
def _exercises_grade(args):
    from medlab.course import grading

    cluster, wait = _cluster_arguments(args)
    if cluster not in (None, "local") and args.jobs is not None:
        raise CLIError(f"--jobs {args.jobs} with --cluster {cluster}: the cluster's workers "
                       "decide how many submissions go at once; leave --jobs out")
    limits = {name: value for name, value in (
        ("cell_timeout", args.timeout), ("notebook_timeout", args.notebook_timeout),
        ("case_timeout", args.case_timeout)) if value is not None}
    rows = grading.grade(args.submissions, args.out, notebooks=args.notebooks, lesson=args.lesson,
                         jobs=args.jobs, progress=show_progress(), cluster=cluster,
                         cluster_wait=wait, feedback=not args.no_feedback, **limits)
    print(grading.describe(rows, args.out))
    return 0


def _exercises_check(args):
    from medlab.course import exercises

    states = exercises.status(args.notebooks, args.out)
    for path, state in states:
        if state != "up to date":
            print(f"{exercises.relative_path(path)}: {exercises.STATES[state]}")
    copies = sum(state == "student's copy" for _, state in states)
    not_ok = [(path, state) for path, state in states if state not in ("up to date", "student's copy")]
    if not_ok:
        edited = sum("edited" in state for _, state in not_ok)
        others = len(not_ok) - edited
        parts = []
        if others:
            parts.append(f"{others} student notebook(s) stale, missing or orphan: "
                         "'medlab exercises release' updates them")
        if edited:
            parts.append(f"{edited} hold edits, which release keeps")
        print("medlab: " + "; ".join(parts), file=sys.stderr)
        return 1
    print(f"student notebooks up to date: {len(states) - copies}"
          + (f"; a student's copy left as it is: {copies}" if copies else ""))
    return 0


# --------------------------------------------------------------------------
# medlab book  (logic in medlab.course.book)
# --------------------------------------------------------------------------
@register_command("book", help="build the course as a static website from the stored notebooks")
def _configure_book(parser):
    parser.description = (
        "Build a static HTML site of the course into OUT/html (default build/book/html) from the "
        "numbered notebooks as stored, without running them: the course map as the landing page, "
        "one chapter per lesson, the README's setup and instructor sections, offline math, "
        "search, a download link on each lesson. Needs the optional extra 'book' and MathJax 2.7 "
        "(Debian's libjs-mathjax: make book-deps).")
    parser.add_argument("--out", metavar="DIR",
                        help="folder of the book, replaced only if an earlier 'medlab book' made "
                             "it (default build/book); the site is DIR/html")
    parser.add_argument("--no-solutions", action="store_true",
                        help="publish each lesson with exercises as its student notebook "
                             "(solutions replaced by hints, as 'medlab exercises release' does)")
    parser.add_argument("--notebooks", metavar="DIR", help="folder of the lessons (default notebooks/)")
    parser.add_argument("--readme", metavar="FILE",
                        help="README with the setup and instructor sections (default: the one "
                             "beside the lessons' folder)")
    parser.add_argument("--mathjax", metavar="DIR",
                        help="MathJax 2.7 folder to copy into the site (default $MEDLAB_MATHJAX "
                             "or Debian's /usr/share/javascript/mathjax)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="Sphinx processes, 1 to 16 (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop the build after this many seconds (default 900)")
    parser.set_defaults(handler=_book)


@_terminate_as_interrupt
def _book(args):
    from medlab import validate
    from medlab.course import book
    from medlab.course.naming import relative_path
    from medlab.course.runs import default_notebooks_folder

    jobs = validate.integer("--jobs", args.jobs, low=1, high=16)
    timeout = book.DEFAULT_TIMEOUT if args.timeout is None else \
        validate.number("--timeout", args.timeout, low=1)
    notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_folder()
    readme = Path(args.readme) if args.readme else notebooks.resolve().parent / "README.md"
    site = book.build(args.out, notebooks, readme, solutions=not args.no_solutions,
                      mathjax=args.mathjax, jobs=jobs, timeout=timeout)
    for warning in site.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    what = "with solutions" if site.solutions else "without solutions (student notebooks)"
    folder = relative_path(site.html)
    print(f"book: {relative_path(site.html / 'index.html')}: {len(site.lessons)} notebooks, {what}, "
          f"in {site.seconds:.0f} s. Read it with 'python3 -m http.server -d {folder}', or publish "
          f"{folder} on any static host (README: The course as a book).")
    return 0

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
