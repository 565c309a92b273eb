"""ctest's entry to the Python tests: runs pytest on the given files and exits 77
(ctest's SKIP_RETURN_CODE) when pytest or numpy is missing or every test skipped,
so a machine without them reports skips, not failures."""
import sys


def main(args):
    try:
        import numpy  # noqa: F401
        import pytest
    except ImportError as e:
        print(f"SKIP: {e} (install python3-pytest and python3-numpy: scripts/setup.sh)")
        return 77

    class Count:
        passed = failed = skipped = 0

        def pytest_runtest_logreport(self, report):
            if report.when == "call" or report.outcome != "passed":
                if report.outcome == "skipped":
                    self.skipped += 1
                elif report.outcome == "failed":
                    self.failed += 1
                elif report.when == "call":
                    self.passed += 1

        def pytest_collectreport(self, report):  # a module skipped whole (pytest.importorskip)
            if report.outcome == "skipped":
                self.skipped += 1

    count = Count()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-rs", *args], plugins=[count])
    if code in (0, 5) and count.passed == 0 and count.failed == 0 and count.skipped > 0:  # 5: none collected
        return 77
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
