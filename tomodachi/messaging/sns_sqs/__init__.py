"""AWS SNS+SQS messaging: decorators, publish functions, naming, filter policies and the brokers."""
