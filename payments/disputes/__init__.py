"""Card disputes (chargebacks): the processor takes money back from a top-up or a card
payment, and returns it when we win."""
