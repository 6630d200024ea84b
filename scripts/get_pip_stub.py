# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for ansible-test's pip bootstrap script.

ansible-test downloads get-pip.py from a host outside the package registries, which
cannot be reached here. This stand-in bootstraps pip from the interpreter's own
ensurepip and then installs the requested packages from the package index, which is
what get-pip.py does. scripts/sanity.sh puts it where ansible-test looks for its cache.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q'] + args)
