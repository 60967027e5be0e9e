"""What happens to a message whose handler raised: the retry / upstream policies and their back-off."""

from __future__ import annotations

from dataclasses import dataclass, replace

DEFAULT_MAX_ATTEMPTS = 3
UPSTREAM_POLICY_NAMES = frozenset({"upstream", "drop"})
RETRY_POLICY_NAMES = frozenset({"retry", "default"})


@dataclass(frozen=True)
class ErrorPolicy:
    """What happens to a message whose handler raised.

    ``mode="retry"``: retry after ``initial_delay * multiplier ** (attempt - 1)`` seconds (capped at
    ``max_delay``) until ``max_attempts`` receives, then dead-letter. ``mode="upstream"``: acknowledge (drop)
    the message, except for internal-service errors, which are retried with the same back-off.
    """

    mode: str = "retry"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    # no retry comes back sooner than this (an SQS queue's visibility timeout, where the user set one)
    min_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("retry", "upstream"):
            raise ValueError(f"message error policy mode must be 'retry' or 'upstream', not {self.mode!r}")
        if self.max_attempts < 1:
            raise ValueError("message error policy max_attempts must be >= 1")

    def delay_for(self, attempt: int) -> float:
        """Back-off before the next attempt, after ``attempt`` (1-based) failed."""
        backoff = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, attempt - 1))
        return float(max(self.min_delay, backoff))


def resolve_error_policy(service: object, max_receive_count: int | None = None) -> ErrorPolicy:
    """The policy for one handler: the service's ``message_error_policy`` (a name or an ErrorPolicy), with
    ``max_attempts`` taken from the decorator's ``max_receive_count`` when it has one."""
    value = getattr(service, "message_error_policy", None)
    if value is None or (isinstance(value, str) and value.lower() in RETRY_POLICY_NAMES):
        policy = ErrorPolicy()
    elif isinstance(value, str) and value.lower() in UPSTREAM_POLICY_NAMES:
        policy = ErrorPolicy(mode="upstream")
    elif isinstance(value, ErrorPolicy):
        policy = value
    else:
        raise ValueError(
            f"invalid message_error_policy {value!r}: use 'retry' (default), 'upstream' or an ErrorPolicy instance"
        )
    if max_receive_count:
        policy = replace(policy, max_attempts=int(max_receive_count))
    return policy
