"""The one retry wait every stage uses: capped exponential backoff with "equal jitter".

Half of each wait is fixed and half scaled by a jitter in [0, 1), so processes or tenants that
failed together (one broker blip, one database failover) do not all come back at the same instant:
https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
"""

from __future__ import annotations


def backoff(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): doubling from `base` up to `cap`."""
    ceiling: float = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return ceiling / 2 + ceiling / 2 * jitter
