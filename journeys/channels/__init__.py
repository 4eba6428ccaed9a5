"""Channel adapters (email over SMTP...); reached only through journeys.dispatch and the gate."""
