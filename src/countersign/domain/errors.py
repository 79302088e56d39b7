"""Domain errors. The core raises these; only the edges (API, workflow
validators) translate them into HTTP statuses or Temporal failures."""


class DomainError(Exception):
    """Base class: `str(error)` is a message a person can act on."""


class PolicyError(DomainError):
    """The routing policy file is invalid."""


class NotPendingParty(DomainError):
    """The party has no open slot in the current stage (wrong or closed party)."""


class StaleVersion(DomainError):
    """The decision names a version that is not the current one."""


class ProposalClosed(DomainError):
    """The proposal has concluded or was withdrawn; nothing more can change."""


class NotAwaitingChanges(DomainError):
    """A resubmission arrived while no changes were requested."""


class NothingToAcknowledge(DomainError):
    """The lead acknowledged conditions but none are open."""


class InvalidDecision(DomainError):
    """The decision is malformed (e.g. a rejection without a reason)."""


class NotFound(DomainError):
    """No such thing, or not one the caller may know exists."""


class Forbidden(DomainError):
    """The caller's role may not take this action."""


class Conflict(DomainError):
    """The request clashes with what is stored (e.g. a reused decision id)."""


class NothingChanged(DomainError):
    """A resubmission identical to the version it replaces."""


class GrantRefused(DomainError):
    """A grant or obligation action the grant's state does not allow."""


class Unacceptable(DomainError):
    """The proposal's risk tier is unacceptable: it cannot be submitted."""


class Refused(DomainError):
    """Input the rules refuse (a message's visibility, a mention, a file's type): 422, saying why."""
