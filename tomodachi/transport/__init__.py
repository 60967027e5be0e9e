"""Transports: http and schedule live here; messaging compat modules re-export tomodachi.messaging."""
