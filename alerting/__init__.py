"""Alerting: threshold rules over the core's metrics (and voice/device feeds), with playbooks.

Pure, synchronous parts (no I/O, time injected): ``schema`` (the ``[alerts]`` config),
``metricpath``, ``matchers``, ``schedule``, ``lifecycle``, ``suppress``, ``grouping``,
``engine`` and the lease rule in ``lease``. Thin async adapters: ``sources`` (metric
readers) and ``feeds`` (what fills the voice and device sources), ``sinks`` (NATS,
webhooks, log, in-process feed), ``store`` (JetStream KV), ``evaluation`` (the loop),
``leadership`` (lease, mirror, forwarded changes) and ``service`` (``AlertService``, which
assembles them).

This module imports nothing so that ``stream.config`` can import ``schema`` cheaply.
"""
