"""Physically grounded synthetic generator of live and attack clips (`liveness synth`)."""
