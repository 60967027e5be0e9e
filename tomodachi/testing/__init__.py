"""Testing support for tomodachi services: in-process harness, virtual clock and pytest fixtures."""
