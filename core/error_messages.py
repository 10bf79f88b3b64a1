"""What people read when something goes wrong: one friendly sentence per stable error code.

Services raise ``DomainError`` subclasses with machine codes (``insufficient_funds``); the
API returns the code and the service's own message, pages show the sentence from here,
which says what happened and what to do next. Card processors and banks add their own
reasons (a card's ``decline_code``, a payout's ``failure_code``), catalogued separately
because the same word means different things there (a card's ``insufficient_funds`` is
not the wallet's).

``core/tests/test_error_messages.py`` finds every code defined or raised in the codebase
and fails when one has no sentence here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

#: Domain and processor error codes → a sentence for a person.
MESSAGES: Mapping[str, Any] = {
    # core
    "domain_error": _("Something went wrong with that request. Please try again."),
    "validation_error": _("Some of the fields are not right. Check them and try again."),
    "not_found": _(
        "We could not find that. It may have been removed, or it is not visible to you."
    ),
    "permission_denied": _("You are not allowed to do that."),
    "conflict": _("That changed in the meantime. Reload the page and try again."),
    "service_unavailable": _(
        "We cannot reach our database for a moment. Nothing was changed; try again shortly."
    ),
    # money values
    "invalid_amount": _("Enter the amount as a number, such as 12.50."),
    "amount_too_precise": _("That amount has too many decimals for its currency."),
    "amount_too_large": _("That amount is too large."),
    "amount_too_small": _("That amount is too small to send. Try a larger one."),
    "amount_must_be_positive": _("Enter an amount greater than zero."),
    "amount_out_of_range": _("That amount is outside what can be paid here. Try another one."),
    "invalid_currency": _("That is not a currency we know. Pick one from the list."),
    "unsupported_currency": _("Wallets cannot hold that currency. Pick one from the list."),
    "currency_mismatch": _("The amounts are in different currencies. Pick one currency."),
    # idempotency (a form or API request sent twice)
    "idempotency_key_required": _("This form has expired. Reload the page and send it again."),
    "idempotency_key_invalid": _("This form has expired. Reload the page and send it again."),
    "idempotency_key_mismatch": _(
        "This form was already sent with other values. Reload the page and send it again."
    ),
    "idempotency_request_in_progress": _(
        "Your payment is already being processed. Wait a moment and check your wallet."
    ),
    "idempotency_key_reused": _(
        "This payment was already made. Check your wallet before paying again."
    ),
    # ledger
    "insufficient_funds": _(
        "Your wallet does not have enough money for this. Top up or choose a smaller amount."
    ),
    "unbalanced_entry": _("This payment could not be recorded. Nothing was moved; try again."),
    "accounts_must_be_different": _("You cannot pay yourself."),
    "invalid_entry": _("This payment could not be recorded. Nothing was moved; try again."),
    "account_not_found": _("That wallet does not exist. Top up first or pick another currency."),
    "account_conflict": _("That wallet is busy. Wait a moment and try again."),
    "hold_already_resolved": _("That reserved money was already settled or released."),
    "entry_already_reversed": _("That payment was already reversed."),
    "entry_not_reversible": _("That payment cannot be reversed."),
    # accounts and people
    "export_already_running": _(
        "We are already preparing a copy of your data. Wait until it is ready."
    ),
    "export_limit_reached": _("You asked for your data often today. Try again tomorrow."),
    "export_not_found": _("We could not find that export. It may have expired."),
    "export_not_ready": _("That export is not ready yet. Wait a moment and try again."),
    "export_expired": _("That download has expired. Ask for a new copy of your data."),
    "account_holds_money": _(
        "Your account cannot close while it holds money or payments are under way. "
        "Settle what is listed, then try again."
    ),
    "account_already_closed": _("This account is already closed."),
    "closing_confirmation_mismatch": _(
        "That is not your handle. Type it exactly as shown to confirm."
    ),
    "handle_invalid": _("Handles use letters, digits and underscores only."),
    "handle_too_short": _("That handle is too short. Pick a longer one."),
    "handle_too_long": _("That handle is too long. Pick a shorter one."),
    "handle_reserved": _("That handle is reserved. Pick another one."),
    "handle_taken": _("That handle is taken. Pick another one."),
    "handle_confusable": _("That handle looks too much like someone else's. Pick another one."),
    "email_invalid": _("That does not look like an e-mail address."),
    "email_taken": _("An account with that e-mail already exists. Log in instead."),
    "password_invalid": _("Choose a longer, less common password."),
    "text_invalid": _("The text contains characters we cannot store. Remove them and retry."),
    "text_too_long": _("That text is too long. Shorten it and try again."),
    "avatar_invalid": _("Use a PNG, JPEG or WebP picture of a few megabytes at most."),
    # photos on posts
    "image_invalid": _("That file is not a picture we can read. Use JPEG, PNG, WebP or GIF."),
    "image_too_large": _("That photo is too large. Use one of at most 10 MB."),  # posts.images
    "image_too_many_pixels": _("That photo has too many pixels. Use a smaller one."),
    "too_many_images": _("A post has at most four photos. Remove some and try again."),
    "image_alt_missing": _(
        "Describe each photo for people who cannot see it (alt text): it is required."
    ),
    "link_invalid": _("Use a full web address starting with https://."),
    "language_invalid": _("Choose one of the offered languages, or none to follow the browser."),
    "cannot_target_self": _("You cannot do that to your own account."),
    "blocked": _("You cannot do this: one of you has blocked the other."),
    "invalid_credentials": _("The handle, e-mail or password is wrong. Try again."),
    "mfa_required": _("Enter the code from your authenticator app to continue."),
    "mfa_invalid": _("That code did not work. Enter the newest code from your app."),
    "locked_out": _("Too many attempts. Wait a few minutes, then try again."),
    "token_required": _("Sign in again to continue."),
    "reauthentication_required": _("For your safety, confirm your password, then try again."),
    "email_undo_invalid": _(
        "This link has expired or is not valid. Reset your password to recover the account."
    ),
    "token_scopes_invalid": _("Choose what the token may do: read, payments, payouts."),
    "token_expiry_invalid": _("Choose how long the token lasts: 1 to 365 days."),
    "token_scope_missing": _(
        "This token may not do that. Create a token with the scope this needs."
    ),
    "token_expired": _("This token has expired. Create a new one in your settings."),
    "unknown_field": _("The form sent a field we do not know. Reload the page and retry."),
    # posts
    "post_empty": _("Write something before posting."),
    "post_too_long": _("Posts can be 500 characters at most. Shorten it and post again."),
    "not_your_post": _("Only the author can do that with this post."),
    "already_reported": _("You already reported this post. Staff will look at it."),
    # wallet
    "recipient_not_found": _(
        "There is nobody you can pay with that handle. Check the spelling and try again."
    ),
    "account_frozen": _(
        "Your account is frozen, so it cannot send or cash out money. Contact support."
    ),
    "limit_exceeded": _(
        "This payment is over your limits. Send a smaller amount, or verify your account."
    ),
    "invalid_note": _("Notes can be 140 characters at most, without special characters."),
    "invalid_payment_method": _("Choose one of the cards in the list."),
    "card_declined": _(
        "Your card was declined and nothing was charged. Try another card, or ask your bank."
    ),
    "processor_unavailable": _(
        "The card processor is not answering right now. Nothing was charged; try again shortly."
    ),
    "processor_error": _(
        "The card processor refused this payment. Nothing was charged; try another card."
    ),
    "invalid_state": _("This can no longer be done: it was already handled. Reload the page."),
    # creators
    "cannot_pay_self": _("You cannot pay yourself."),
    "post_not_paid": _("This post has nothing locked for sale."),
    "out_of_stock": _("Not enough of this is left. Choose a smaller quantity."),
    "invalid_quantity": _("Choose a quantity from 1 to 100."),
    "shipping_address_required": _("Enter a shipping address so the seller can send it."),
    "order_state_conflict": _("This order has moved on, so that cannot be done any more."),
    "refund_exceeds_escrow": _(
        "That refund is more than is still held for this order. Refund less."
    ),
    "already_member": _("You are already a member of this creator. See your memberships."),
    "invalid_choice": _("One of the choices is not valid. Pick one from the list."),
    "unsupported_api_version": _(
        "This app asked for an API version we do not know. Update it or drop the version."
    ),
    "payment_failed": _("The payment did not go through and nothing was charged. Try again."),
    "payment_mismatch": _(
        "The card payment did not match what was ordered, so it was not used. Try again."
    ),
    # payment links
    "link_inactive": _("This payment link was turned off by its owner. Ask them for a new one."),
    "link_expired": _("This payment link has expired. Ask its owner for a new one."),
    "link_used_up": _("This payment link cannot be used any more. Ask its owner for a new one."),
    "amount_below_minimum": _("That amount is below this link's minimum. Enter a larger one."),
    "invalid_expiry": _("Pick an expiry date in the future, at most two years away."),
    "invalid_use_limit": _("Enter a use limit from 1 to 1,000,000, or leave it empty."),
    "too_many_links": _("You have too many active payment links. Turn some off first."),
    "throttled": _("Too many requests in a short time. Wait a minute and try again."),
    # money across borders
    "quote_expired": _("That quote expired. Check the new quote and confirm again."),
    "quote_used": _("That quote was already used. Your money was sent once; see your wallet."),
    "same_currency": _("Pick two different currencies to convert between."),
    "amount_side_invalid": _("Enter either the amount you send or the amount to arrive."),
    "recipient_currency_mismatch": _(
        "They cannot receive in that currency right now. Get a new quote and try again."
    ),
    "rate_unavailable": _(
        "We have no exchange rate for those currencies right now. Try another pair."
    ),
    "rate_stale": _("Exchange rates are being refreshed. Wait a minute and ask for a new quote."),
    "rate_feed_invalid": _(
        "Exchange rates are being refreshed. Wait a minute and ask for a new quote."
    ),
    # payouts
    "payout_not_found": _("We could not find that payout."),
    "verification_required": _(
        "Cash-outs need a verified account. Verify your identity in payout settings."
    ),
    "no_payout_destination": _("Add a bank account in payout settings before cashing out."),
    "payout_destination_on_hold": _(
        "Your bank account changed recently, so payouts are paused for a while to protect "
        "you. Try again after the hold."
    ),
    "invalid_payout_method": _("Choose standard or instant."),
    "invalid_bank_account": _(
        "That bank account could not be added. Check the account and routing numbers."
    ),
    "invalid_bank_details": _("Some bank details are not right. Check the marked fields."),
    # one field of bank details (``invalid_bank_details`` names them in details["fields"])
    "bank_field_required": _("This field is needed for a bank account in this country."),
    "bank_field_length": _("This has the wrong number of characters for this country."),
    "bank_field_digits": _("Use digits only here (spaces and dashes are fine)."),
    "bank_field_format": _("This is not in the right format. Check it against your bank's."),
    "bank_field_checksum": _("This number has a typo: its check digits do not match."),
    "bank_country_mismatch": _("This belongs to a bank in another country than the one chosen."),
    "bank_country_unsupported": _("Payouts cannot go to bank accounts in this country yet."),
    "bank_currency_unsupported": _("Accounts in this country cannot be paid in this currency."),
    "routing_number_invalid": _("That bank code is not valid. Check it and retry."),
    "payout_currency_mismatch": _(
        "Payouts to your bank account are in its currency. Choose the wallet to pay from; "
        "another currency is converted first."
    ),
    "invalid_payout_card": _("That card could not be added. Check it and try again."),
    "payout_card_not_debit": _(
        "Payouts go to debit cards only. Use a debit card, or add a bank account."
    ),
    "instant_payout_unavailable": _(
        "Instant payouts go to a debit card. Add one in payout settings, or choose standard."
    ),
    "card_payouts_unsupported": _("Payouts to cards are not available here yet."),
    "invalid_card_type": _(
        "Payouts go to debit cards only. Use a debit card, or add a bank account."
    ),
    "instant_payouts_unsupported": _(
        "Instant payouts go to a debit card. Add one in payout settings, or choose standard."
    ),
    "payout_quote_mismatch": _("The exchange offer no longer fits this payout. Review it again."),
    "illegal_payout_transition": _("This payout has already moved on. Reload the page."),
    "payout_request_expired": _("This payout request expired. Review it and send it again."),
    # processors and webhooks (seen by staff in the admin, rarely by people)
    "invalid_signature": _("The message was not signed by the payment processor."),
    "stale_webhook": _("The message from the payment processor was too old to trust."),
    "malformed_payload": _("The message from the payment processor could not be read."),
    "webhook_event_busy": _("That event is being processed. Try again in a minute."),
    "not_configured": _("Card payments are not set up on this server. Contact support."),
    "idempotency_error": _(
        "The card processor saw this payment twice with other details. Start again."
    ),
    "idempotency_key_in_use": _("Your payment is already being processed. Wait a moment."),
    "lock_timeout": _("The card processor is busy. Try again in a moment."),
    "invalid_request": _("The card processor refused this request. Nothing was charged."),
    "payment_intent_unexpected_state": _("This card payment was already completed."),
    "charge_not_refundable": _("This card payment cannot be refunded."),
    "charge_already_refunded": _("This card payment was already refunded."),
    "dispute_already_closed": _("This dispute is already closed or under review."),
    "account_number_invalid": _("That bank account number is not valid. Check it and retry."),
    "no_external_account": _("Add a bank account in payout settings before cashing out."),
    # a card declined at the processor, by reason (also card decline codes below)
    "expired_card": _("Your card has expired. Use another card."),
    "incorrect_cvc": _("The card's security code is wrong. Check it, or use another card."),
    "processing_error": _(
        "The card could not be processed. Nothing was charged; try again in a moment."
    ),
    # outgoing webhooks
    "webhook_url_invalid": _("Enter a full https:// address for your webhook endpoint."),
    "webhook_url_forbidden": _(
        "That address is on a private or local network. Use a public address of your server."
    ),
    "webhook_event_type_unknown": _("Pick at least one event from the list."),
    "webhook_endpoint_not_found": _("That webhook endpoint no longer exists."),
    "webhook_delivery_not_found": _("That delivery no longer exists."),
    "webhook_endpoints_limit": _("You have the most webhook endpoints allowed. Delete one first."),
    # guest payments by card
    "invalid_email": _("Enter a valid e-mail address for your receipt."),
    "guest_card_limited": _("This card was used for too many payments recently. Try again later."),
    "guest_ip_limited": _("Too many card payments from this network recently. Try again later."),
    "guest_tip_cap": _(
        "Tips by card without an account are capped. Sign up to tip more, or tip less."
    ),
    "guest_product_unavailable": _("Only digital products can be bought without an account."),
    "guest_access_invalid": _("This access link is not valid."),
    "link_guest_unavailable": _(
        "This link can only be paid from a SocialPay wallet. Log in to pay it."
    ),
    "guest_access_expired": _("This access link has expired. Sign up with your e-mail to see it."),
}

#: A card's ``decline_code`` (Stripe's vocabulary) → what to tell the cardholder.
DECLINE_MESSAGES: Mapping[str, Any] = {
    "generic_decline": _(
        "Your card was declined and nothing was charged. Try another card, or ask your bank."
    ),
    "insufficient_funds": _(
        "Your card does not have enough money for this. Nothing was charged; try another card."
    ),
    "expired_card": _("Your card has expired and nothing was charged. Use another card."),
    "incorrect_cvc": _(
        "The card's security code is wrong, so nothing was charged. Check it, or use another card."
    ),
    "fraudulent": _(
        "Your bank declined this card and nothing was charged. Use another card or call them."
    ),
    "processing_error": _(
        "The card could not be processed and nothing was charged. Try again in a moment."
    ),
    "card_declined": _(
        "Your card was declined and nothing was charged. Try another card, or ask your bank."
    ),
    "authentication_required": _(
        "Your bank wants you to confirm this payment. Confirm it, then continue."
    ),
}

#: Why a bank returned a payout (``failure_code``) → what the person should do.
PAYOUT_FAILURE_MESSAGES: Mapping[str, Any] = {
    "no_account": _(
        "Your bank says this account does not exist. Check the account number in payout "
        "settings; the money is back in your wallet."
    ),
    "account_closed": _(
        "Your bank account is closed. Add another one in payout settings; the money is back "
        "in your wallet."
    ),
    "insufficient_funds": _(
        "The payout could not be funded right now. The money is back in your wallet; try "
        "again later."
    ),
    "debit_not_authorized": _(
        "Your bank refused this transfer. Ask your bank, or add another account; the money "
        "is back in your wallet."
    ),
    "invalid_currency": _(
        "Your bank cannot receive this currency. Add an account in this currency; the money "
        "is back in your wallet."
    ),
    "could_not_process": _(
        "Your bank could not process the payout. The money is back in your wallet; try again."
    ),
}

#: ``limit_exceeded`` says which limit in ``details["limit"]``.
LIMIT_MESSAGES: Mapping[str, Any] = {
    "per_transfer": _(
        "This payment is over your per-payment limit. Send a smaller amount, or verify your "
        "account to raise it."
    ),
    "weekly_send": _(
        "This payment is over what you can still send this week. Send less, wait for the "
        "week to restart, or verify your account."
    ),
    "velocity": _("Too many payments in a short time. Wait a minute and try again."),
}

FALLBACK = _("Something went wrong and nothing was charged. Please try again.")


def error_message(error: Any) -> str:
    """The sentence for an error: a ``DomainError`` (or any object with ``code`` and
    ``details``) or a bare code. Unknown codes get a calm generic sentence, never the
    technical text."""
    code = error if isinstance(error, str) else getattr(error, "code", "")
    details = {} if isinstance(error, str) else (getattr(error, "details", None) or {})
    decline = details.get("decline_code") or getattr(error, "decline_code", None) or ""
    if code in {"card_declined", "processor_error"} and decline in DECLINE_MESSAGES:
        return str(DECLINE_MESSAGES[decline])
    if code == "limit_exceeded" and details.get("limit") in LIMIT_MESSAGES:
        return str(LIMIT_MESSAGES[details["limit"]])
    return str(MESSAGES.get(code, FALLBACK))


def decline_message(decline_code: str) -> str:
    """A failed card top-up's reason, for its receipt page."""
    return str(DECLINE_MESSAGES.get(decline_code, DECLINE_MESSAGES["generic_decline"]))


def payout_failure_message(failure_code: str) -> str:
    """A returned payout's reason, for the payouts page."""
    fallback = PAYOUT_FAILURE_MESSAGES["could_not_process"]
    return str(PAYOUT_FAILURE_MESSAGES.get(failure_code, fallback))
