"""Alerting: threshold rules over the core's metrics (and voice/device feeds), with playbooks.

Pure, synchronous parts (no I/O, time injected): ``schema`` (the ``[alerts]`` config),
``metricpath``, ``matchers``, ``schedule``, ``lifecycle``, ``suppress``, ``grouping`` and
``engine``. Thin async adapters: ``sources`` (metric readers), ``sinks`` (NATS, webhooks,
log, in-process feed), ``store`` (JetStream KV) and ``service`` (``AlertService``).

This module imports nothing so that ``stream.config`` can import ``schema`` cheaply.
"""
