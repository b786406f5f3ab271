"""The course tooling behind the ``medlab`` command; it never imports TensorFlow.

- :mod:`medlab.course.cli`: the command line (``medlab data|run|sweep|course|exercises|book``);
- :mod:`medlab.course.runs`: parameterized runs of the lessons, sweeps, the whole course;
- :mod:`medlab.course.execute`: one papermill run in a child process, with a client that
  never blocks on widget traffic;
- :mod:`medlab.course.cluster`: runs of a sweep or of the course as Dask distributed tasks
  (``--cluster``; the optional extra ``cluster``), the worker's side in
  :mod:`medlab.course.cluster_worker`;
- :mod:`medlab.course.locks`: one sweep or course per folder at a time (an OS lock);
- :mod:`medlab.course.notebooks`: reading notebooks and their parameters with ``json``;
- :mod:`medlab.course.summaries`: ``summary.csv``, ``summary.md`` and ``summary.png``;
- :mod:`medlab.course.exercises`: ``medlab exercises release/check``, never over a student's
  work (:mod:`medlab.course.student_notebook` makes one student notebook);
- :mod:`medlab.course.book`: ``medlab book``, the course as a static website from the stored
  notebooks (the optional extra ``book``);
- :mod:`medlab.course.environment`: what the course needs from the machine.

Heavy libraries (papermill, nbformat, matplotlib, TensorFlow) are imported inside the
functions that need them, so ``medlab --help`` starts in well under a second.
"""
