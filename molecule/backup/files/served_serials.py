#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which certificate does each TLS endpoint serve right now?

usage: served_serials.py CA CERT KEY ADDRESS:PORT=EXPECTED.crt ...

Connects to every endpoint with a client certificate (etcd and pgBackRest
require one), verifies the served certificate against CA for the address,
and prints JSON: {endpoint: {served, expected, match}} with the serial the
endpoint served and the serial of the controller's copy of that host's
certificate. A process that kept an old certificate in memory shows up as
match: false.
"""

import json
import socket
import ssl
import sys

from cryptography import x509


def served_serial(ctx, address, port):
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=address) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def main():
    ca, cert, key = sys.argv[1:4]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    out = {}
    for arg in sys.argv[4:]:
        endpoint, expected_file = arg.split("=", 1)
        address, port = endpoint.rsplit(":", 1)
        with open(expected_file, "rb") as f:
            expected = x509.load_pem_x509_certificate(f.read()).serial_number
        served = served_serial(ctx, address, port)
        # Serials as strings: they are 20-byte numbers, beyond JSON's safe integers.
        out[endpoint] = {"served": str(served), "expected": str(expected), "match": served == expected}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
