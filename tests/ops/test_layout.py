"""The product never depends on the benchmarks or the tests: nothing under
config/, newsletter/ or subscribers/ imports ``bench`` or ``tests``, or names
one of their modules (``python -m tests.x``, ``celery -A bench.x``)."""

import ast
import re

from tests.conftest import ROOT

PRODUCT = ("config", "newsletter", "subscribers")
OUTSIDE = ("bench", "tests")
MODULE_NAME = re.compile(r"^(bench|tests)(\.\w+)+$")


def _references(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.match(node.value):
            names = [node.value]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in OUTSIDE]
    return found


def test_the_checker_sees_imports_anywhere_and_module_names_in_strings():
    source = (
        "import os\nfrom newsletter import models\n"
        "def f():\n    from tests.fake_provider import FakePostmark\n    import bench.digests\n"
        "ARGS = ['-m', 'tests.fake_provider']\nTEXT = 'tests are good'\n"
    )
    assert _references(ast.parse(source)) == [
        (4, "tests.fake_provider"), (5, "bench.digests"), (6, "tests.fake_provider"),
    ]


def test_the_product_imports_neither_bench_nor_tests():
    offenders = []
    files = sorted(path for package in PRODUCT for path in (ROOT / package).rglob("*.py"))
    assert len(files) > 50
    for path in files:
        for line, name in _references(ast.parse(path.read_text(), filename=str(path))):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert offenders == []
