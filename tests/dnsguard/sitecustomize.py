"""Loaded by crawl subprocesses in the tests (PYTHONPATH): every local name
lookup of something other than a loopback name is recorded and refused, so a
test can prove that no name (an .onion above all) was resolved on this machine."""

import os
import socket

_LOG = os.environ.get("DNS_GUARD_LOG")
_ALLOWED = {"127.0.0.1", "localhost", "::1", None, ""}
_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname


def _check(host):
    name = host.decode() if isinstance(host, bytes) else host
    if name in _ALLOWED:
        return
    with open(_LOG, "a") as log:
        log.write(f"{name}\n")
    raise socket.gaierror(socket.EAI_NONAME, f"dnsguard: local lookup of {name} refused")


def getaddrinfo(host, *args, **kwargs):
    _check(host)
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    _check(host)
    return _gethostbyname(host)


if _LOG:
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
