import base64
import hashlib

import pytest

from crawler.url.onion import InvalidOnionAddress, is_valid_onion, onion_version

V3 = "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd"


def make_v3(pubkey: bytes, version: int = 3, good_checksum: bool = True) -> str:
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + bytes([version])).digest()[:2]
    if not good_checksum:
        checksum = bytes([checksum[0] ^ 1, checksum[1]])
    return base64.b32encode(pubkey + checksum + bytes([version])).decode().lower()


def test_v2_and_v3_versions():
    assert onion_version("nytimes3xbfgragh") == 2
    assert onion_version(V3) == 3
    assert onion_version(V3 + ".onion") == 3


def test_generated_v3_addresses():
    key = bytes(range(32))
    assert onion_version(make_v3(key)) == 3
    with pytest.raises(InvalidOnionAddress, match="checksum"):
        onion_version(make_v3(key, good_checksum=False))
    with pytest.raises(InvalidOnionAddress, match="version byte"):
        onion_version(make_v3(key, version=2))


@pytest.mark.parametrize(
    "address",
    [
        "nytimes3xbfgrag",  # 15 characters
        "nytimes3xbfgragh1",  # 1 is not base32
        V3[:-1] + "a",  # a changed character: bad checksum or version
        V3[:10] + ("b" if V3[10] != "b" else "c") + V3[11:],
        "NYTIMES3XBFGRAGH",  # callers lower-case; upper case is not a label here
        "",
    ],
)
def test_invalid_addresses(address):
    assert not is_valid_onion(address)
