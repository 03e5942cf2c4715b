"""What the README promises is what the program says.

The suspect rule is printed by --help (from user/trend.h) and written in
the README: the two must be the same text, so that neither can change
alone. The README's exit codes and drop counters must be the program's.
"""

import os
import re
import subprocess

import lwlib
from lwlib import check

README = os.path.join(lwlib.ROOT, "README.md")


def readme():
    with open(README) as f:
        return f.read()


def help_text():
    check(os.access(lwlib.LEAKWATCH, os.X_OK), "%s missing (run make)" % lwlib.LEAKWATCH)
    res = subprocess.run([lwlib.LEAKWATCH, "--help"], capture_output=True, text=True)
    lwlib.note_output("leakwatch --help", res.stderr)
    check(res.returncode == 0, "--help exited %d" % res.returncode)
    return res.stdout


def words(text):
    return " ".join(text.split())


def test_readme_rule_is_help_rule():
    m = re.search(r"<!-- rule:[^>]*-->\s*```\n(.*?)```", readme(), re.S)
    check(m, "README has no rule block after its '<!-- rule: ... -->' mark")
    rule = words(m.group(1))
    check(rule.startswith("Leak suspect:"), "README rule block: %r" % rule[:80])
    check(rule in words(help_text()),
          "README's rule is not the one --help prints:\nREADME: %s\n--help: %s" %
          (rule, words(help_text())))


def test_readme_lists_every_drop():
    """Every drop counter of the JSON contract is explained in the README."""
    text = readme()
    missing = [d for d in lwlib.DROP_NAMES if "`%s`" % d not in text]
    check(not missing, "README does not explain drops %s" % missing)
