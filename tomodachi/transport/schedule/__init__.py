"""Scheduled functions: decorators (api), interval/cron/timestamp parsing (parse), fire times, and the runner."""
