"""Host-side memory for crash_variant: passed through the sandbox (see the
test's worker), so it outlives the workflow task that fails."""

_seen: set[tuple] = set()


def first_time(*key) -> bool:
    if key in _seen:
        return False
    _seen.add(key)
    return True
