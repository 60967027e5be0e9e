"""Service runtime: containers, launcher, clock, execution context."""
