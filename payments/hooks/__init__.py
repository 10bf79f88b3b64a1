"""Outgoing webhooks: people's endpoints, the events the money apps emit, signed delivery."""
