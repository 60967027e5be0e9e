"""Typed aiohttp application keys (kept apart so ``api.py`` can stay free of aiohttp imports)."""

from __future__ import annotations

from aiohttp import web

from tomodachi.transport.http.settings import HttpSettings

SETTINGS = web.AppKey("tomodachi.http.settings", HttpSettings)
