"""The local lab: real OpenStack services on loopback, for tests and the demo."""
