"""Shared test settings. In CI, property-based tests run a fixed (derandomized) set of examples,
so a submission's result doesn't depend on luck; locally they keep exploring new ones."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
