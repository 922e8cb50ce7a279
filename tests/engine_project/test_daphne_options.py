"""daphne's WebSocket factory waits for a slow close reply instead of resetting the socket,
and a new connection does not pretty-print its options for a debug line."""

from __future__ import annotations

import pprint

from daphne.ws_protocol import WebSocketFactory
from twisted.internet.testing import StringTransport

import engine_project.asgi  # noqa: F401  (applies the option, as daphne's import does)
from engine_project.daphne_options import CLOSE_HANDSHAKE_TIMEOUT_S, patient_close_handshake


def test_a_factory_built_after_the_app_is_loaded_waits_for_the_close_reply():
    factory = WebSocketFactory(server_class=None)
    assert factory.closeHandshakeTimeout == CLOSE_HANDSHAKE_TIMEOUT_S
    # daphne's own options (set after construction) leave it alone.
    factory.setProtocolOptions(autoPingTimeout=30, allowNullOrigin=True)
    assert factory.closeHandshakeTimeout == CLOSE_HANDSHAKE_TIMEOUT_S


def test_applying_it_twice_changes_nothing():
    patient_close_handshake()
    patient_close_handshake()
    assert WebSocketFactory(server_class=None).closeHandshakeTimeout == CLOSE_HANDSHAKE_TIMEOUT_S


def test_a_new_connection_formats_no_debug_line_with_pprint(monkeypatch):
    pretty_printed: list[object] = []
    original = pprint.PrettyPrinter.pformat

    def counting_pformat(self: pprint.PrettyPrinter, value: object) -> str:
        pretty_printed.append(value)
        return original(self, value)

    monkeypatch.setattr(pprint.PrettyPrinter, "pformat", counting_pformat)
    protocol = WebSocketFactory(server_class=None).buildProtocol(("127.0.0.1", 50000))
    protocol.makeConnection(StringTransport())
    assert pretty_printed == []
    assert protocol.closeHandshakeTimeout == CLOSE_HANDSHAKE_TIMEOUT_S  # options still applied
