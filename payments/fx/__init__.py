"""Foreign exchange: where mid-market rates come from (``sources``)."""
