"""Messaging: one pipeline (envelope → middleware → handler → settle) shared by the AMQP and SNS+SQS buses.

Light to import: the broker and pipeline modules import no network library.
"""
