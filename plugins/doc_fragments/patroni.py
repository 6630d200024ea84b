# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Matches patroni_common_argument_spec() in plugins/module_utils/_patroni_api.py.
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URLs of Patroni REST APIs, one per member, for example V(http://10.0.0.11:8008).
      - They are tried in order; when one cannot be reached (connection refused, connect timeout,
        TLS failure) the next one is used. When all fail, the error lists each endpoint with its error.
      - HTTP errors returned by a reachable member are not retried elsewhere.
    type: list
    elements: str
    required: true
    aliases: [endpoints]
  api_username:
    description:
      - Username for HTTP basic authentication (Patroni C(restapi.authentication.username)).
    type: str
  api_password:
    description:
      - Password for HTTP basic authentication (Patroni C(restapi.authentication.password)).
    type: str
  ca_path:
    description:
      - CA bundle used to verify the Patroni REST API certificate.
      - When omitted, the system trust store is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for mutual TLS with the Patroni REST API.
    type: path
  client_key:
    description:
      - Private key (PEM) matching O(client_cert).
    type: path
  validate_certs:
    description:
      - Verify the Patroni REST API TLS certificate.
      - Only set to V(false) on throw-away test clusters.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds for each HTTP request.
      - Switchover and restart calls block inside Patroni until done, so keep it above
        Patroni's own wait (about 30 seconds for a switchover) when using them.
    type: int
    default: 10
requirements:
  - requests
attributes:
  check_mode:
    # Every patroni_* module is built by patroni_module(), which turns check mode on.
    support: full
'''
