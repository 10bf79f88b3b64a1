"""Forms of the webhook pages: they parse; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.hooks.models import URL_MAX_LENGTH

#: What each event kind is called on the page.
EVENT_LABELS = {
    "payment.received": _("Payment received"),
    "tip.received": _("Tip received"),
    "post.unlocked": _("Post unlocked"),
    "order.paid": _("Order paid"),
    "order.shipped": _("Order shipped"),
    "order.refunded": _("Order refunded"),
    "membership.started": _("Membership started"),
    "membership.renewed": _("Membership renewed"),
    "membership.cancelled": _("Membership cancelled"),
    "payout.paid": _("Payout paid"),
    "payout.failed": _("Payout failed"),
    "dispute.opened": _("Dispute opened"),
    "request.paid": _("Money request paid"),
    "fx.converted": _("Currency converted"),
    "fx.sent": _("Money sent abroad"),
    "fx.received": _("Money received from abroad"),
}


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=URL_MAX_LENGTH,
        help_text=_("A public https:// address of your server."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=list(EVENT_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
