"""The sandbox processor: a small, deterministic imitation of Stripe's test mode with its own
tables (Django app label ``sandbox_processor``). It stands in for the processor's side;
nothing in our domain reads its tables."""
