"""Creator earnings: tips, paid posts (unlocks), orders from posts with escrow, memberships
and the creator dashboard. Its models (and the products sold from posts) are in ``models``."""
