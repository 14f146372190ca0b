"""Small first, big when unsure: confidence signals, a calibrated score, escalation."""
