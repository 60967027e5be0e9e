"""Compat alias: ``tomodachi.transport.awssnssqs`` is the very module :mod:`tomodachi.transport.aws_sns_sqs`."""

from __future__ import annotations

import sys

from tomodachi.transport import aws_sns_sqs

# the import system hands out whatever sys.modules holds for this name once the module has run
sys.modules[__name__] = aws_sns_sqs
