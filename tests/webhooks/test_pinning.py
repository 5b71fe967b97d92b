"""A delivery connects to the address that was checked, not to a second lookup of its name
(DNS rebinding: a name that resolves to a public address for the check and to a private one
for the connection must never reach the private one)."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.services import pinned_target


def resolver(*addresses: str):
    def resolve(host: str, port: int):
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


def test_https_connects_to_the_checked_address_and_checks_the_certificate_of_the_name():
    target = pinned_target("https://hooks.example.com/voice?x=1", resolver("93.184.216.34"))
    assert target.url == "https://93.184.216.34/voice?x=1"
    assert target.host_header == "hooks.example.com"
    assert target.sni_hostname == "hooks.example.com"


def test_a_port_and_an_ipv6_address_are_kept():
    target = pinned_target("http://hooks.example.com:8080/in", resolver("2606:4700::6810:84e5"))
    assert target.url == "http://[2606:4700::6810:84e5]:8080/in"
    assert target.host_header == "hooks.example.com:8080"
    assert target.sni_hostname is None  # plain HTTP has no TLS


@pytest.mark.parametrize(
    "addresses",
    [
        ("93.184.216.34", "127.0.0.1"),  # any private answer refuses the host
        ("10.0.0.7",),
        ("::ffff:169.254.169.254",),  # the cloud metadata address, IPv4-mapped
        (),
    ],
)
def test_a_name_with_any_non_public_address_is_refused(addresses):
    with pytest.raises(ValueError, match="public addresses only"):
        pinned_target("https://rebind.example.com/", resolver(*addresses))
