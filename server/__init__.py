"""Live server: Litestar API, websocket push, loyalty display, QR survey, CLI."""
