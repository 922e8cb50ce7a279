"""What daphne's WebSocket stack gets beyond daphne's own options.

The close handshake waits for the client's reply instead of aborting. daphne builds
its WebSocket factory from autobahn with autobahn's default ``closeHandshakeTimeout``
of 1 s and offers no option for it. When the server closes a
socket (a status socket after the terminal event) and the client's close reply has not
been read within that second, autobahn aborts the TCP connection. A reset discards what
the client's kernel holds unread. Under load that was the order's last events and
the close frame: the client saw 1006 instead of ``confirmed`` and 1000 (a few sockets per
thousand in ``python -m bench clients``). A slow reply now gets 30 s. A client that never
replies holds its connection that long, no longer.

A connection's debug line is formatted with ``repr`` instead of ``pprint``: autobahn
pretty-prints its 29 protocol options for a debug log on every new connection, whether
or not debug logging is on. That was 4.5 % of daphne's samples in ``python -m bench
clients`` (287 µs a connection on the bench machine; ``repr`` takes 24 µs).
"""

from __future__ import annotations

from typing import Any

CLOSE_HANDSHAKE_TIMEOUT_S = 30


def patient_close_handshake() -> None:
    """Make every daphne WebSocket factory built from now on wait ``CLOSE_HANDSHAKE_TIMEOUT_S``.

    daphne builds its factory after it has imported the application, so calling this
    from the ASGI module is early enough. Calling it again changes nothing.
    """
    from daphne.ws_protocol import WebSocketFactory

    original = WebSocketFactory.resetProtocolOptions
    if getattr(original, "patient_close", False):
        return

    def reset_protocol_options(self: Any) -> None:
        original(self)
        self.closeHandshakeTimeout = CLOSE_HANDSHAKE_TIMEOUT_S

    reset_protocol_options.patient_close = True  # type: ignore[attr-defined]
    WebSocketFactory.resetProtocolOptions = reset_protocol_options


def cheap_connection_debug() -> None:
    """Have autobahn's WebSocket protocol format its debug values with ``repr``.

    autobahn calls its module's ``pformat`` with one value, eagerly, to fill debug log
    lines (the options at each connection, a handshake's transport details) and in
    ``Timings.__str__``; ``repr`` gives the same values on one line. Idempotent.
    """
    from autobahn.websocket import protocol

    protocol.pformat = repr  # type: ignore[assignment]
