"""Compat import path: ``tomodachi.envelope.proto_build.protobuf.sns_sqs_message_pb2``."""
