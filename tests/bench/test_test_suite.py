"""bench/test_suite.py reads pytest's own duration lines and summary."""

from __future__ import annotations

from bench.test_suite import summarise

OUTPUT = """\
============================= slowest 80 durations =============================
312.40s setup    tests/template/test_pipeline.py::test_a[0]
41.02s call     tests/demo/test_demo.py::test_the_demo_runs
3.50s teardown tests/template/test_pipeline.py::test_a[0]
0.90s call     tests/template/test_pipeline.py::test_b
=========== 1140 passed, 2 warnings in 1700.25s (0:28:20) ===========
"""


def test_the_slowest_fixtures_tests_and_modules_come_from_the_duration_lines() -> None:
    results = summarise(OUTPUT, {})
    assert results["slowest_fixtures"] == [(312.40, "tests/template/test_pipeline.py::test_a[0]")]
    assert [test for _, test in results["slowest_tests"]] == [
        "tests/demo/test_demo.py::test_the_demo_runs", "tests/template/test_pipeline.py::test_b"]
    assert results["slowest_modules"][0] == (316.8, "tests/template/test_pipeline.py")
    assert results["pytest_seconds"] == 1700.25
    assert results["pytest_summary"].startswith("1140 passed")
