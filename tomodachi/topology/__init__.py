"""A system's wiring: static (routes, subscriptions, schedules) and observed (who published what, who consumed it)."""
