"""What the dossiers service keeps or asks outside its aggregates: read-model tables and their
queries, the lookup throttle, copies of calendars, the signing service's client."""
