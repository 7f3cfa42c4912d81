"""Streaming core: event schemas, the pure metric engine and its NATS adapter."""
