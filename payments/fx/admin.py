"""Staff views of FX rate snapshots and quotes: read-only (a quote is money history; a
snapshot is the rate a quote was priced at)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from payments.fx.models import FxQuote, FxRateSnapshot


@admin.register(FxRateSnapshot)
class FxRateSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "base", "as_of", "fetched_at"]
    list_filter = ["source", "base"]
    date_hierarchy = "as_of"
    ordering = ["-as_of"]


@admin.register(FxQuote)
class FxQuoteAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "source_currency",
        "source_amount",
        "target_currency",
        "target_amount",
        "fee_amount",
        "mid_rate",
        "kind",
        "recipient",
        "created_at",
        "expires_at",
        "executed_at",
    ]
    list_filter = ["kind", "source_currency", "target_currency", "fixed_side"]
    search_fields = ["=id", "user__handle", "recipient__handle"]
    list_select_related = ["user", "recipient"]
    raw_id_fields = ["user", "recipient", "snapshot", "entry"]
    ordering = ["-created_at"]
