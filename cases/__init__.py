"""Cases: incidents cxpulse opens, works and escalates itself (contract v2 "Cases").

- ``cases.config``: ``[cases]`` and ``[[cases.rules]]``;
- ``cases.rules``: which ratings, button bursts, urgent comments and voice escalations open
  a case, and with which id, category, severity and text (pure);
- ``cases.linking``: what the electronic mystery shopper heard around a rating (pure);
- ``cases.escalation``: overdue cases step up once per working day (pure);
- ``cases.actions``: the incident events of the API's case actions (pure);
- ``cases.service``: the NATS adapter: one leader per deployment consumes the input and
  voice streams with durable consumers of its own and publishes the steps.
"""
