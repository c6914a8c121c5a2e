"""The dossiers service's domain: values, rules and aggregates. Pure: imports only
eventsourcing, the clock and the kernel's errors, never the service's other layers."""
