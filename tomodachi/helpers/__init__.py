"""Helper modules kept at their original import paths (``tomodachi.helpers.crontab`` and friends)."""
