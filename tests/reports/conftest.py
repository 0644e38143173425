"""The reports tests share the world of test_figures (fw)."""

from tests.reports.test_figures import fw  # noqa: F401 (fixture)
