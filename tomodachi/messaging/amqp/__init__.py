"""AMQP (RabbitMQ) bus: decorator and publish (api), naming, in-memory broker, transport; aioamqp only in real.py."""
