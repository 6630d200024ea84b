# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client for Patroni's REST API, shared by the pgha.cluster patroni_* modules.

PRIVATE to the pgha.cluster collection (hence the leading underscore, as in community.docker):
this is not a public API, and any name in it may change or go away in any release.
Other collections and playbooks must not import it.
"""

from __future__ import annotations

import json
import time
import traceback

from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    HAS_REQUESTS = True
except ImportError:
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


LEADER_ROLES = ('leader', 'standby_leader', 'master', 'primary')
REPLICA_ROLES = ('replica', 'sync_standby', 'quorum_standby')
SYNC_ROLES = ('sync_standby', 'quorum_standby')

# Member states in which PostgreSQL is known not to run. Any other state of a leader
# (running, starting, restarting, stopping, stop failed, ...) means it may still accept writes.
DEAD_STATES = ('stopped', 'crashed', 'start failed', 'restart failed', 'initdb failed', 'custom bootstrap failed')

DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024
# Patroni's own default for maximum_lag_on_failover.
DEFAULT_FAILOVER_MAX_LAG_BYTES = 1024 * 1024

AUTH_REFUSED_MSG = 'authentication refused by Patroni REST API (check api_username/api_password)'


def patroni_common_argument_spec():
    """Connection options every patroni_* module accepts, documented in pgha.cluster.patroni."""
    return dict(
        api_url=dict(type='list', elements='str', required=True, aliases=['endpoints']),
        api_username=dict(type='str'),
        api_password=dict(type='str', no_log=True),
        ca_path=dict(type='path'),
        client_cert=dict(type='path'),
        client_key=dict(type='path'),
        validate_certs=dict(type='bool', default=True),
        timeout=dict(type='int', default=10),
    )


class PatroniApiError(Exception):
    """Patroni answered, but not with success."""

    def __init__(self, message, status=None, body=None, endpoint=None, method=None, path=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.endpoint = endpoint
        self.method = method
        self.path = path

    def __str__(self):
        return self.message


class PatroniConnectionError(PatroniApiError):
    """No endpoint could be reached; `errors` holds (endpoint, reason) pairs."""

    def __init__(self, message, errors=None, method=None, path=None):
        super().__init__(message, method=method, path=path)
        self.errors = errors or []


def redact_url(url):
    """Drop user:password@ from a URL so it can appear in messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return '<invalid url>'
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ''
    if parts.port:
        netloc = '%s:%s' % (netloc, parts.port)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _body_text(body):
    """Patroni puts its reason in the body, as plain text or as JSON with a message."""
    if isinstance(body, dict):
        for key in ('message', 'error', 'reason'):
            if body.get(key):
                return str(body[key])
        return json.dumps(body, sort_keys=True)
    if body is None:
        return ''
    return str(body).strip()


class PatroniClient:
    def __init__(self, endpoints, username=None, password=None, ca_path=None, client_cert=None,
                 client_key=None, validate_certs=True, timeout=10):
        if not HAS_REQUESTS:
            raise RuntimeError(missing_required_lib('requests'))
        self.endpoints = [e.strip().rstrip('/') for e in (endpoints or []) if e and e.strip()]
        if not self.endpoints:
            raise ValueError('api_url must list at least one Patroni REST API URL')
        self.timeout = timeout
        self.auth = (username, password or '') if username else None
        self._password = password
        if not validate_certs:
            self.verify = False
        elif ca_path:
            self.verify = ca_path
        else:
            self.verify = True
        if client_cert and client_key:
            self.cert = (client_cert, client_key)
        else:
            self.cert = client_cert or None
        self.session = requests.Session()
        self.last_endpoint = None

    def _scrub(self, text):
        # requests' messages can echo URLs; a password given inside api_url must not leak.
        text = str(text)
        if self._password:
            text = text.replace(self._password, '********')
        return text

    def request(self, method, path, data=None, endpoint=None, expect_json=None, timeout=None):
        """Send one request and return (status, body); on connection failure move on to the next endpoint.

        Any HTTP status of 400 or more raises PatroniApiError carrying the status and Patroni's reason.

        A read timeout is retried elsewhere only for GET: a POST that timed out may
        already have been acted on, and repeating a switchover or restart is not safe.
        """
        method = method.upper()
        timeout = timeout or self.timeout
        endpoints = [endpoint.rstrip('/')] if endpoint else self.endpoints
        errors = []
        for ep in endpoints:
            url = ep + path
            kwargs = dict(timeout=timeout, verify=self.verify, auth=self.auth, cert=self.cert)
            if data is not None:
                kwargs['json'] = data
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError as e:
                errors.append((ep, 'TLS error: %s' % self._scrub(e)))
                continue
            except requests.exceptions.ConnectTimeout:
                errors.append((ep, 'connection timed out after %ss' % timeout))
                continue
            except requests.exceptions.ConnectionError as e:
                errors.append((ep, 'connection failed: %s' % self._scrub(e)))
                continue
            except requests.exceptions.Timeout:
                if method == 'GET':
                    errors.append((ep, 'timed out after %ss' % timeout))
                    continue
                raise PatroniConnectionError(
                    '%s %s on %s timed out after %ss; Patroni may still be carrying it out'
                    % (method, path, redact_url(ep), timeout),
                    errors=[(ep, 'read timed out')], method=method, path=path)
            except requests.exceptions.RequestException as e:
                errors.append((ep, 'request failed: %s' % self._scrub(e)))
                continue
            self.last_endpoint = ep
            return self._handle(response, ep, method, path, expect_json)
        detail = '; '.join('%s: %s' % (redact_url(ep), err) for ep, err in errors)
        raise PatroniConnectionError(
            'could not reach any Patroni REST API endpoint for %s %s (%s)' % (method, path, detail),
            errors=[(redact_url(ep), err) for ep, err in errors], method=method, path=path)

    def _handle(self, response, endpoint, method, path, expect_json):
        text = response.text or ''
        status = response.status_code
        content_type = (response.headers or {}).get('Content-Type', '') or ''
        body = text
        parse_error = None
        if expect_json or 'json' in content_type or (expect_json is None and text[:1] in ('{', '[')):
            try:
                body = json.loads(text) if text.strip() else None
            except ValueError as e:
                parse_error = e
        where = redact_url(endpoint)
        if status == 401:
            raise PatroniApiError(AUTH_REFUSED_MSG + ' at %s' % where, status=status,
                                  body=self._scrub(text), endpoint=where, method=method, path=path)
        if status >= 400:
            reason = self._scrub(_body_text(body) or response.reason or '')
            raise PatroniApiError(
                'Patroni REST API at %s refused %s %s with HTTP %s: %s' % (where, method, path, status, reason),
                status=status, body=reason, endpoint=where, method=method, path=path)
        if parse_error is not None:
            if expect_json:
                snippet = self._scrub(text[:200])
                raise PatroniApiError(
                    'Patroni REST API at %s returned invalid JSON for %s %s (HTTP %s): %s; body starts with: %r'
                    % (where, method, path, status, parse_error, snippet),
                    status=status, body=snippet, endpoint=where, method=method, path=path)
            body = text
        return status, body

    # The verbs return the body alone; request() also gives the status.
    def get(self, path, endpoint=None, expect_json=True):
        return self.request('GET', path, endpoint=endpoint, expect_json=expect_json)[1]

    def post(self, path, data=None, endpoint=None, expect_json=None, timeout=None):
        return self.request('POST', path, data=data, endpoint=endpoint, expect_json=expect_json, timeout=timeout)[1]

    def patch(self, path, data, endpoint=None, expect_json=True):
        return self.request('PATCH', path, data=data, endpoint=endpoint, expect_json=expect_json)[1]

    def delete(self, path, endpoint=None, expect_json=None):
        return self.request('DELETE', path, endpoint=endpoint, expect_json=expect_json)[1]

    def fetch_cluster(self):
        cluster = self.get('/cluster')
        if not isinstance(cluster, dict) or not isinstance(cluster.get('members', []), list):
            raise PatroniApiError('unexpected answer to GET /cluster from %s: %r'
                                  % (redact_url(self.last_endpoint or ''), cluster), path='/cluster')
        cluster.setdefault('members', [])
        return cluster


def client_from_module(module):
    """Build a client from the shared options, or fail the module cleanly."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    try:
        return PatroniClient(p['api_url'], username=p['api_username'], password=p['api_password'],
                             ca_path=p['ca_path'], client_cert=p['client_cert'], client_key=p['client_key'],
                             validate_certs=p['validate_certs'], timeout=p['timeout'])
    except ValueError as e:
        module.fail_json(msg=str(e))


def patroni_module(**options):
    """The module with the shared connection options plus its own, and a client for it.

    Every patroni_* module supports check mode.
    """
    argument_spec = patroni_common_argument_spec()
    argument_spec.update(options)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    return module, client_from_module(module)


def fetch_cluster_or_fail(module, client, **result):
    """GET /cluster, or fail the module with Patroni's reason."""
    try:
        return client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e, **result)


def fail(module, msg, **result):
    """fail_json that never reports a change: a failed run must not claim it did what was asked."""
    result['changed'] = False
    module.fail_json(msg=msg, **result)


def exit_with_leader_diff(module, result, before, after):
    """exit_json, with the leader before and after as the diff when diff mode is on."""
    if module._diff:
        result['diff'] = dict(before=dict(leader=before), after=dict(leader=after))
    module.exit_json(**result)


def timeout_message(what, seconds, error=None, detail=None):
    """'<what> after <seconds>s (<detail>); last error: <error>' for a wait that ran out."""
    detail = ' (%s)' % detail if detail else ''
    return '%s after %ss%s%s' % (what, seconds, detail, '; last error: %s' % error if error else '')


def is_status_unknown(error):
    """Patroni's 503 'Switchover/Failover status unknown': the operation may still complete."""
    return isinstance(error, PatroniApiError) and error.status == 503 and 'status unknown' in str(error.body or '').lower()


def fail_from_error(module, error, **result):
    """fail_json with Patroni's own reason and status, never a traceback, and never changed."""
    extra = dict(result)
    extra['changed'] = False
    if isinstance(error, PatroniConnectionError):
        extra['endpoint_errors'] = [dict(endpoint=ep, error=err) for ep, err in error.errors]
    elif isinstance(error, PatroniApiError):
        extra['status'] = error.status
        extra['patroni_message'] = error.body
        extra['endpoint'] = error.endpoint
    module.fail_json(msg=str(error), **extra)


# --- cluster helpers -------------------------------------------------------

def member_names(cluster):
    return [m.get('name') for m in cluster.get('members', [])]


def find_member(cluster, name):
    for m in cluster.get('members', []):
        if m.get('name') == name:
            return m
    return None


def find_leader(cluster):
    for m in cluster.get('members', []):
        if m.get('role') in LEADER_ROLES:
            return m
    return None


def leader_name(cluster):
    leader = find_leader(cluster)
    return leader.get('name') if leader else None


def is_paused(cluster):
    return bool(cluster.get('pause'))


def member_lag(member):
    """Replay lag in bytes, or None when Patroni reports it as unknown."""
    lag = member.get('lag')
    if isinstance(lag, bool):
        return None
    if isinstance(lag, int):
        return lag
    try:
        return int(lag)
    except (TypeError, ValueError):
        return None


def _tag_true(value):
    return value is True or str(value).lower() in ('true', 'yes', 'on', '1')


def member_is_alive(member):
    """PostgreSQL may be running on this member: any state but a known dead one."""
    return member.get('state') not in DEAD_STATES


def member_is_up(member):
    """Leader running (standby leaders may also report streaming), replica streaming."""
    state = member.get('state')
    if member.get('role') in LEADER_ROLES:
        return state in ('running', 'streaming')
    return state == 'streaming'


def member_base_url(member, overrides=None):
    """Member REST base URL: an override by name wins, else api_url without its /patroni suffix."""
    name = member.get('name')
    if overrides and name in overrides and overrides[name]:
        return str(overrides[name]).rstrip('/')
    url = member.get('api_url') or ''
    url = url.rstrip('/')
    if url.endswith('/patroni'):
        url = url[:-len('/patroni')]
    return url or None


def failover_priority(member):
    tags = member.get('tags') or {}
    try:
        return int(tags.get('failover_priority', 1))
    except (TypeError, ValueError):
        return 1


def eligible_replicas(cluster, max_lag_bytes=None):
    """Replicas Patroni would accept as candidates: streaming, not nofailover, priority above 0."""
    leader = find_leader(cluster)
    result = []
    for m in cluster.get('members', []):
        if m.get('role') not in REPLICA_ROLES or m.get('state') != 'streaming':
            continue
        tags = m.get('tags') or {}
        if _tag_true(tags.get('nofailover')) or failover_priority(m) <= 0:
            continue
        lag = member_lag(m)
        if max_lag_bytes is not None and lag is not None and lag > max_lag_bytes:
            continue
        if leader and m.get('timeline') is not None and leader.get('timeline') is not None \
                and m.get('timeline') != leader.get('timeline'):
            continue
        result.append(m)
    return result


def pick_best_replica(cluster, max_lag_bytes=None):
    """Best switchover candidate, or None.

    In synchronous mode Patroni only accepts a synchronous standby, so those win when
    present. Then lowest lag; among equal lag the higher failover_priority, as Patroni does.
    """
    candidates = eligible_replicas(cluster, max_lag_bytes)
    sync = [m for m in candidates if m.get('role') in SYNC_ROLES]
    if sync:
        candidates = sync
    if not candidates:
        return None

    def key(m):
        lag = member_lag(m)
        return (lag if lag is not None else float('inf'), -failover_priority(m), m.get('name') or '')
    return sorted(candidates, key=key)[0]


def cluster_health(cluster, max_lag_bytes=DEFAULT_MAX_LAG_BYTES, expected_members=None):
    """Return (healthy, reasons) for a /cluster document."""
    reasons = []
    members = cluster.get('members', [])
    leader = find_leader(cluster)
    if leader is None:
        reasons.append('no leader in the cluster')
    elif not member_is_up(leader):
        reasons.append("leader %s is in state '%s', expected 'running'" % (leader.get('name'), leader.get('state')))
    for m in members:
        if leader is not None and m is leader:
            continue
        name = m.get('name')
        if m.get('state') != 'streaming':
            reasons.append("member %s is in state '%s', expected 'streaming'" % (name, m.get('state')))
            continue
        lag = member_lag(m)
        if lag is None:
            reasons.append('member %s reports unknown lag' % name)
        elif max_lag_bytes is not None and lag > max_lag_bytes:
            reasons.append('member %s lags %d bytes behind the leader (max_lag_bytes=%d)' % (name, lag, max_lag_bytes))
        if leader is not None and m.get('timeline') is not None and leader.get('timeline') is not None \
                and m.get('timeline') != leader.get('timeline'):
            reasons.append('member %s is on timeline %s, leader %s on timeline %s'
                           % (name, m.get('timeline'), leader.get('name'), leader.get('timeline')))
    if expected_members is not None and len(members) < expected_members:
        reasons.append('cluster has %d members, expected %d' % (len(members), expected_members))
    return (not reasons, reasons)


def wait_for_leader(client, name, timeout):
    """Poll GET /cluster until `name` leads and is running; return (cluster, last_error), cluster None on timeout."""
    def leads():
        cluster = client.fetch_cluster()
        leader = find_leader(cluster)
        return cluster if leader is not None and leader.get('name') == name and member_is_up(leader) else None

    return wait_until(leads, timeout)


def current_state(client):
    """The cluster as it is now, or None when it cannot be read (for failure reports)."""
    try:
        return client.fetch_cluster()
    except PatroniApiError:
        return None


def wait_until(predicate, timeout, interval=2.0):
    """Call predicate() until it returns a truthy value or timeout seconds pass.

    Connection errors while polling are expected (a member restarting, a leader
    changing), so they count as "not yet" rather than failures.
    Returns (value, last_error); value is None on timeout.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value, None
        except PatroniApiError as e:
            last_error = e
        if time.monotonic() >= deadline:
            return None, last_error
        time.sleep(interval)


def summarize_members(cluster):
    """One short line per member, for timeout messages."""
    return ', '.join('%s=%s/%s' % (m.get('name'), m.get('role'), m.get('state')) for m in cluster.get('members', []))


# Patroni's POST /switchover, /failover and /restart only answer once the action is
# over (a switchover polls for up to about 30 seconds), so they get a longer timeout.
BLOCKING_CALL_TIMEOUT = 90


def blocking_timeout(params):
    return max(params.get('timeout') or 0, BLOCKING_CALL_TIMEOUT)


def unknown_member_msg(name, cluster):
    return 'member %s is not in the cluster; members are: %s' % (name, ', '.join(sorted(n for n in member_names(cluster) if n)))
