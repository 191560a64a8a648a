#!/usr/bin/env python3
"""Sums the GoogleTest results Bazel left in a testlogs tree, for tools/test.sh.

  test_summary.py NAME TESTLOGS_DIR   prints "NAME: T targets, P passed, F failed, S skipped"
  test_summary.py --total FILE FMT    sums those lines (+1 failure if FMT is 1) and prints the
                                      closing line "tests: N passed, N failed, N skipped"
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def count(testlogs):
    targets = passed = failed = skipped = 0
    for dirpath, _, files in os.walk(testlogs):
        if "test.xml" not in files:
            continue
        targets += 1
        path = os.path.join(dirpath, "test.xml")
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            failed += 1  # a crashed test can leave a broken or empty file
            continue
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        cases = [c for s in suites for c in s.iter("testcase")]
        if not cases:  # Bazel's own XML for a test binary that did not produce gtest XML
            bad = any(e.tag in ("failure", "error") for e in root.iter())
            failed += int(bad)
            passed += int(not bad)
            continue
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None or case.get("result") == "skipped" or case.get(
                    "status") == "notrun":
                skipped += 1
            else:
                passed += 1
    return targets, passed, failed, skipped


def main(argv):
    if argv[1] == "--total":
        passed = failed = skipped = 0
        with open(argv[2]) as f:
            for line in f:
                m = re.search(r"(\d+) passed, (\d+) failed, (\d+) skipped", line)
                if m:
                    passed += int(m.group(1))
                    failed += int(m.group(2))
                    skipped += int(m.group(3))
        failed += int(argv[3])
        print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
        return 0
    name, testlogs = argv[1], argv[2]
    if not testlogs or not os.path.isdir(testlogs):
        print(f"{name}: 0 targets, 0 passed, 1 failed, 0 skipped (no test logs)")
        return 0
    t, p, f, s = count(testlogs)
    print(f"{name}: {t} targets, {p} passed, {f} failed, {s} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
