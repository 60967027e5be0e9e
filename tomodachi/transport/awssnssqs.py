"""Compat alias of :mod:`tomodachi.transport.aws_sns_sqs`."""

from __future__ import annotations

from tomodachi.transport.aws_sns_sqs import *  # noqa: F403
from tomodachi.transport.aws_sns_sqs import __all__ as __all__
