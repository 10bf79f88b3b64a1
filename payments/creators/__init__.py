"""Creator earnings: tips, paid posts (unlocks), orders from posts with escrow, memberships
and the creator dashboard. Models live in ``payments.models.creators``."""
