"""Content policies, consent, caps, approval queue, audit log and the execution gate."""
