"""The dossiers service's domain: values, rules and aggregates. Pure: imports only
eventsourcing, the clock and the kernel's errors, never the service's other layers."""

# Declares the old topics of the classes below before any event is decoded. Imported last
# and for its effect: it imports the aggregates, which import this package's other modules.
from motcua.dossiers.domain import moved_topics  # noqa: E402,F401
