"""Validate Tor onion service addresses.

An onion address is only trusted when it is exactly right: a v2 address is 16
base32 characters, a v3 address is 56 base32 characters that decode to
``pubkey (32 bytes) | checksum (2) | version (1)`` where the version is 3 and
the checksum is ``SHA3-256(".onion checksum" | pubkey | version)[:2]``
(Tor's rend-spec-v3, section 6).

>>> onion_version("nytimes3xbfgragh")
2
>>> onion_version("nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion")
3
>>> onion_version("nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljscaiyd")
Traceback (most recent call last):
...
crawler.exceptions.InvalidOnionAddress: bad v3 checksum in 'nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljscaiyd'
"""

from __future__ import annotations

import base64
import hashlib
import re

from crawler.exceptions import InvalidOnionAddress

__all__ = ["InvalidOnionAddress", "onion_version", "is_valid_onion"]

_BASE32_RE = re.compile(r"[a-z2-7]+")
_V2_LENGTH = 16
_V3_LENGTH = 56
_V3_VERSION = 3


def onion_version(address: str) -> int:
    """Return 2 or 3 for a valid onion address, else raise InvalidOnionAddress.

    ``address`` is the service label, with or without the ``.onion`` suffix,
    lower case (onion names are case-insensitive, callers lower-case them).
    """
    label = address.removesuffix(".onion")
    if not _BASE32_RE.fullmatch(label):
        raise InvalidOnionAddress(f"not a base32 onion label: {address!r}")
    if len(label) == _V2_LENGTH:
        return 2
    if len(label) != _V3_LENGTH:
        raise InvalidOnionAddress(f"an onion label has 16 (v2) or 56 (v3) characters, {address!r} has {len(label)}")
    raw = base64.b32decode(label.upper())
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34]
    if version != _V3_VERSION:
        raise InvalidOnionAddress(f"v3 version byte is {version}, not 3, in {address!r}")
    expected = hashlib.sha3_256(b".onion checksum" + pubkey + bytes([version])).digest()[:2]
    if checksum != expected:
        raise InvalidOnionAddress(f"bad v3 checksum in {address!r}")
    return 3


def is_valid_onion(address: str) -> bool:
    """True when ``address`` is a valid v2 or v3 onion address.

    >>> is_valid_onion("p53lf57qovyuvwsc6xnrppyply3vtqm7l6pcobkmyqsiofyeznfu5uqd.onion")
    True
    >>> is_valid_onion("nytimes3xbfgragh.onion.evil.com")
    False
    """
    try:
        onion_version(address)
    except InvalidOnionAddress:
        return False
    return True
