"""Shared test settings: hypothesis profile sized for a 2-core machine."""

import os

from hypothesis import HealthCheck, settings

import medlab._tensorflow  # noqa: F401  (imports TensorFlow quietly before any test does; `import medlab` alone is light)

settings.register_profile(
    "medlab",
    max_examples=int(os.environ.get("MEDLAB_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("medlab")
