"""The test-facing fakes of the two message buses (in-memory, and stand-ins over real brokers)."""
