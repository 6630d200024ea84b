# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the module tests: injected module args, a fake clock and `requests`
replaced by a URL-keyed table of canned answers. Nothing touches the network.
The test doubles themselves live in helpers.py."""

from __future__ import annotations

import json
import os
import sys
from unittest import mock

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# helpers.py sits beside this file; the collection is imported as ansible_collections.pgha.cluster
# through .collections/ansible_collections/pgha/cluster, a symlink to the repository root.
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), '.collections'))

import requests  # noqa: E402

from helpers import N1, SECRET, FakeApi, FakeClock, run_main  # noqa: E402


@pytest.fixture
def api():
    fake = FakeApi()
    with mock.patch.object(requests.Session, 'request', autospec=False, new=lambda s, m, u, **kw: fake(s, m, u, **kw)):
        yield fake


@pytest.fixture(autouse=True)
def clock():
    fake = FakeClock()
    with mock.patch('time.monotonic', fake.monotonic), mock.patch('time.sleep', fake.sleep):
        yield fake


@pytest.fixture
def run_module():
    """run_module(module, args, check_mode=False, diff=False) -> (result, failed)."""

    def run(module, args, check_mode=False, diff=False):
        args = dict(args)
        if 'endpoints' not in args:
            args.setdefault('api_url', [N1])
        args['_ansible_check_mode'] = check_mode
        args['_ansible_diff'] = diff
        result, failed = run_main(module, args)
        # Whatever the outcome, the password must never come back to the user.
        assert SECRET not in json.dumps(result, default=str)
        return result, failed

    return run
