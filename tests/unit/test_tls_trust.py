"""Every client that verifies TLS with the default trust shares one context per process (loading
the CA bundle costs ~40 ms each time); any other choice is passed through as given."""

from __future__ import annotations

import ssl

from plugboard.auth.outbound_stack import Outbound
from plugboard.tls import system_trust, trust


def test_the_default_trust_is_built_once_and_verifies() -> None:
    context = trust(True)

    assert context is system_trust() is trust(True)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_other_choices_pass_through() -> None:
    own = ssl.create_default_context()

    assert trust(False) is False
    assert trust(own) is own
    assert trust("/etc/ssl/certs/ca.pem") == "/etc/ssl/certs/ca.pem"


def test_every_outbound_stack_uses_the_shared_trust_unless_given_one() -> None:
    own = ssl.create_default_context()

    assert Outbound().verify is Outbound().verify is system_trust()
    assert Outbound(verify=own).verify is own
