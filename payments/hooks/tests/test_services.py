"""Outgoing webhooks in-process: endpoints and their checks (the SSRF guard), events written
in the money movement's transaction, dispatch, one attempt against a real local receiver,
signatures and secret rotation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.money import Money
from payments.hooks import services
from payments.hooks.errors import (
    WebhookEndpointsLimit,
    WebhookEventTypeUnknown,
    WebhookUrlForbidden,
    WebhookUrlInvalid,
)
from payments.hooks.models import Delivery, Endpoint, Event
from payments.hooks.tests.support import readme_javascript_verify, readme_python_verify
from payments.wallets.events import EVENT_TYPES, event_emit
from payments.wallets.requests import request_create, request_pay
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hook"  # a literal public address: resolves offline


@pytest.fixture
def no_private(settings):
    settings.HOOKS_ALLOW_PRIVATE_ADDRESSES = False


def _endpoint(user, url=PUBLIC_URL, types=("payment.received",)):
    return services.endpoint_create(user=user, url=url, event_types=list(types))


# --- the SSRF guard --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://2130706433/hook",  # 127.0.0.1 written as one integer
        "http://0x7f000001/hook",
        "http://[fd00::1]/hook",  # IPv6 unique local
        "http://224.0.0.1/hook",  # multicast
    ],
)
def test_private_and_loopback_addresses_are_refused(no_private, url):
    user = person()
    with pytest.raises(WebhookUrlForbidden):
        _endpoint(user, url=url)
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/hook",
        "file:///etc/passwd",
        "https://user:secret@93.184.216.34/hook",
        "not a url",
        "https:///no-host",
        "https://93.184.216.34:99999/hook",
        "https://93.184.216.34/" + "a" * 2000,
        "https://nonexistent.invalid/hook",
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(WebhookUrlInvalid):
        _endpoint(person(), url=url)


def test_plain_http_is_refused_in_production(settings):
    settings.PRODUCTION = True
    settings.HOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(WebhookUrlInvalid) as exc:
        _endpoint(person(), url="http://93.184.216.34/hook")
    assert exc.value.details == {"reason": "https_required"}
    assert _endpoint(person(), url=PUBLIC_URL).url == PUBLIC_URL


def test_a_public_address_is_accepted_even_when_private_ones_are_refused(no_private):
    endpoint = _endpoint(person())
    assert endpoint.public_id.startswith("we_")
    assert endpoint.secret.startswith("whsec_")


def test_a_delivery_to_an_address_that_became_private_is_refused_without_a_request(
    settings, receiver
):
    user = person()
    _endpoint(user, url=receiver.url)  # allowed while registering (development)
    settings.HOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 1})
    services.events_dispatch()
    delivery = Delivery.objects.get()
    attempt = services.delivery_attempt(public_id=delivery.public_id)
    assert attempt.error == "webhook_url_forbidden"
    assert attempt.status_code is None
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1


# --- endpoint rules --------------------------------------------------------------------------
def test_event_types_must_be_known_and_are_kept_in_the_documented_order():
    user = person()
    with pytest.raises(WebhookEventTypeUnknown) as exc:
        _endpoint(user, types=["tip.received", "charge.succeeded"])
    assert exc.value.details["unknown"] == ["charge.succeeded"]
    with pytest.raises(WebhookEventTypeUnknown):
        _endpoint(user, types=[])
    endpoint = _endpoint(user, types=["request.paid", "tip.received", "tip.received"])
    assert endpoint.event_types == ["tip.received", "request.paid"]


def test_a_person_has_at_most_the_configured_number_of_endpoints(settings):
    settings.HOOKS_ENDPOINTS_PER_USER_MAX = 2
    user = person()
    _endpoint(user)
    _endpoint(user)
    with pytest.raises(WebhookEndpointsLimit):
        _endpoint(user)
    assert Endpoint.objects.filter(user=user).count() == 2


# --- events in the money movement's transaction ----------------------------------------------
def test_a_transfer_writes_its_event_for_the_recipient_with_no_private_data():
    sender, recipient = person(), person()
    _endpoint(recipient)
    fund(sender, 5_000)
    transfer = transfer_create(
        sender=sender, to=recipient.handle, money=Money(1_250, "USD"), note="lunch", client_key="k1"
    )
    event = Event.objects.get(user=recipient)
    assert event.kind == "payment.received"
    assert event.public_id.startswith("evt_")
    assert event.payload == {
        "transfer": transfer.pk,
        "amount": {"amount": 1_250, "currency": "USD"},
        "from": sender.handle,
        "note": "lunch",
    }
    assert sender.email not in json.dumps(event.payload)
    # The sender has no endpoint: nothing is written for them.
    assert not Event.objects.filter(user=sender).exists()


def test_no_event_without_a_listening_endpoint():
    sender, recipient = person(), person()
    _endpoint(recipient, types=["tip.received"])  # listens, but not to transfers
    fund(sender, 5_000)
    transfer_create(sender=sender, to=recipient.handle, money=Money(100, "USD"), client_key="k2")
    Endpoint.objects.filter(user=recipient).update(
        event_types=["payment.received"], is_active=False
    )
    transfer_create(sender=sender, to=recipient.handle, money=Money(100, "USD"), client_key="k3")
    assert not Event.objects.exists()


def test_a_rolled_back_payment_leaves_no_event():
    sender, recipient = person(), person()
    _endpoint(recipient)
    fund(sender, 5_000)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        transfer_create(
            sender=sender, to=recipient.handle, money=Money(100, "USD"), client_key="k4"
        )
        assert Event.objects.count() == 1
        raise Boom
    assert not Event.objects.exists()


def test_a_paid_request_tells_the_requester():
    requester, payer = person(), person()
    _endpoint(requester, types=["request.paid", "payment.received"])
    fund(payer, 5_000)
    req = request_create(
        requester=requester, payer=payer.handle, money=Money(700, "USD"), client_key="r1"
    )
    paid = request_pay(user=payer, request_id=req.pk)
    kinds = dict(Event.objects.filter(user=requester).values_list("kind", "payload"))
    assert kinds["request.paid"] == {
        "request": req.pk,
        "transfer": paid.transfer_id,
        "amount": {"amount": 700, "currency": "USD"},
        "payer": payer.handle,
    }
    assert kinds["payment.received"]["transfer"] == paid.transfer_id


def test_every_event_kind_is_documented_and_has_a_label():
    from payments.hooks.forms import EVENT_LABELS
    from payments.hooks.tests.support import README

    assert list(EVENT_LABELS) == list(EVENT_TYPES)
    readme = README.read_text()
    for kind in EVENT_TYPES:
        assert f"`{kind}`" in readme or kind.split(".")[0] in readme, kind


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        event_emit("charge.succeeded", person().pk, {})


# --- dispatch and one attempt ----------------------------------------------------------------
def test_dispatch_makes_one_delivery_per_listening_endpoint_once():
    user = person()
    first = _endpoint(user)
    second = _endpoint(user, types=["payment.received", "tip.received"])
    _endpoint(user, types=["tip.received"])
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 1})
    assert services.events_dispatch() == 2
    assert services.events_dispatch() == 0
    assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {first.pk, second.pk}
    assert Event.objects.get().dispatched_at is not None


def test_a_redirect_is_not_followed(receiver):
    receiver.plan = [302]
    user = person()
    _endpoint(user, url=receiver.url)
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 1})
    services.events_dispatch()
    delivery = Delivery.objects.get()
    attempt = services.delivery_attempt(public_id=delivery.public_id)
    assert attempt.status_code == 302
    assert [r.path for r in receiver.requests] == ["/hook"]  # /elsewhere never asked
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at > timezone.now()
    # Not due yet: a scheduled attempt now does nothing.
    assert services.delivery_attempt(public_id=delivery.public_id) is None


def test_the_body_is_signed_as_the_readme_says_in_python_and_javascript(receiver):
    user = person()
    endpoint = _endpoint(user, url=receiver.url)
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 7})
    services.events_dispatch()
    services.delivery_attempt(public_id=Delivery.objects.get().public_id)
    (request,) = receiver.requests
    header = request.headers["SocialPay-Signature"]
    body = json.loads(request.body)
    assert body["object"] == "event" and body["type"] == "payment.received"
    assert body["id"] == request.headers["SocialPay-Event-Id"]
    assert body["created"].endswith("Z")
    verify = readme_python_verify()
    assert verify(request.body, header, endpoint.secret)
    assert not verify(request.body + b" ", header, endpoint.secret)
    assert not verify(request.body, header, "whsec_other")
    assert readme_javascript_verify(request.body, header, endpoint.secret)
    assert not readme_javascript_verify(request.body, header, "whsec_other")


def test_after_rotation_both_secrets_sign_until_the_overlap_ends(receiver, settings):
    user = person()
    endpoint = _endpoint(user, url=receiver.url)
    old = endpoint.secret
    rotated = services.endpoint_secret_rotate(user=user, endpoint_id=endpoint.public_id)
    assert rotated.secret != old and rotated.previous_secret == old
    verify = readme_python_verify()
    body = b'{"id":"evt_x"}'
    now = timezone.now()
    header = services.signature_header(body, rotated.secrets_signing(now), int(now.timestamp()))
    assert header.count("v1=") == 2
    assert verify(body, header, old) and verify(body, header, rotated.secret)
    later = now + settings.HOOKS_SECRET_OVERLAP + timedelta(seconds=1)
    assert rotated.secrets_signing(later) == [rotated.secret]


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.HOOKS_RETRY_BASE_SECONDS = 30
    settings.HOOKS_RETRY_MAX_SECONDS = 6 * 3600
    waits = [services.backoff_seconds(n) for n in range(1, 12)]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits[-1] == 6 * 3600


def test_a_delivery_gives_up_after_the_retry_window(receiver, settings):
    receiver.plan = [500]
    user = person()
    _endpoint(user, url=receiver.url)
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 1})
    Event.objects.update(created_at=timezone.now() - settings.HOOKS_RETRY_FOR)
    services.events_dispatch()
    delivery = Delivery.objects.get()
    services.delivery_attempt(public_id=delivery.public_id)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    # A manual redelivery still goes out, and a success marks it delivered.
    attempt = services.delivery_attempt(public_id=delivery.public_id, manual=True)
    assert attempt.status_code == 200 and attempt.manual
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2


def test_prune_keeps_pending_deliveries(receiver, settings):
    user = person()
    _endpoint(user, url=receiver.url)
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"n": 1})
        event_emit("payment.received", user.pk, {"n": 2})
    services.events_dispatch()
    first, second = Delivery.objects.order_by("id")
    services.delivery_attempt(public_id=first.public_id)
    old = timezone.now() - timedelta(days=settings.HOOKS_DELIVERY_RETENTION_DAYS + 1)
    Event.objects.update(created_at=old)
    assert services.hooks_prune() == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [second.pk]


def test_creator_flows_tell_their_parties_without_the_shipping_address():
    from payments.creators import services as creators
    from payments.creators.tests.factories import fund as creators_fund
    from payments.creators.tests.factories import make_post, make_user

    creator, fan = make_user("c"), make_user("f")
    everything = list(EVENT_TYPES)
    _endpoint(creator, types=everything)
    _endpoint(fan, types=everything)
    creators_fund(fan, 10_000)
    post = make_post(creator)
    tip = creators.tip_send(
        tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key="t1", message="hi"
    )
    product = creators.product_create(
        seller=creator,
        post_id=post.pk,
        title="Mug",
        description="A mug",
        price=Money(2_000, "USD"),
        stock=5,
        kind="physical",
        delivery_url="",
    )
    order = creators.order_create(
        buyer=fan,
        product_id=product.pk,
        quantity=1,
        shipping_address="1 Secret Street",
        request_key="o1",
    )
    creators.order_ship(seller=creator, order_id=order.pk)
    creators.order_refund(seller=creator, order_id=order.pk, amount=Money(500, "USD"))
    to_creator = list(Event.objects.filter(user=creator).order_by("id"))
    assert [e.kind for e in to_creator] == [
        "tip.received",
        "order.paid",
        "order.shipped",
        "order.refunded",
    ]
    assert to_creator[0].payload["tip"] == tip.pk
    assert to_creator[0].payload["amount"] == {"amount": 500, "currency": "USD"}
    assert to_creator[0].payload["from"] == fan.handle
    assert to_creator[3].payload["refund"]["amount"] == {"amount": 500, "currency": "USD"}
    assert [e.kind for e in Event.objects.filter(user=fan).order_by("id")] == [
        "order.paid",
        "order.shipped",
        "order.refunded",
    ]
    everything_sent = json.dumps(list(Event.objects.values_list("payload", flat=True)))
    assert "Secret Street" not in everything_sent and fan.email not in everything_sent


def test_payouts_and_memberships_tell_their_parties(settings):
    from payments.creators import services as creators
    from payments.creators.tests.factories import fund as creators_fund
    from payments.creators.tests.factories import make_user
    from payments.payouts import services as payouts
    from payments.payouts.tests.support import payee

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    owner = payee(15_000)
    _endpoint(owner, types=["payout.paid", "payout.failed"])
    payout = payouts.payout_request(
        user=owner, amount=Money(10_000, "USD"), method="standard", request_key="p1"
    )
    payouts.payout_transition(payout_id=payout.pk, to_status="failed", source="staff")
    (event,) = Event.objects.filter(user=owner)
    assert event.kind == "payout.failed"
    assert event.payload["payout"] == payout.pk
    assert event.payload["amount"] == {"amount": 10_000, "currency": "USD"}
    assert "bank" not in json.dumps(event.payload) and "last4" not in json.dumps(event.payload)

    creator, member = make_user("c"), make_user("m")
    _endpoint(creator, types=["membership.started", "membership.cancelled"])
    creators_fund(member, 10_000)
    tier = creators.tier_create(creator=creator, name="Gold", price=Money(500, "USD"))
    membership = creators.membership_subscribe(member=member, tier_id=tier.pk)
    creators.membership_cancel(member=member, membership_id=membership.pk)
    creators.membership_cancel(member=member, membership_id=membership.pk)  # once only
    kinds = list(Event.objects.filter(user=creator).order_by("id").values_list("kind", flat=True))
    assert kinds == ["membership.started", "membership.cancelled"]
    started = Event.objects.get(user=creator, kind="membership.started").payload
    assert started["member"] == member.handle and started["tier"]["name"] == "Gold"
    assert started["amount"] == {"amount": 500, "currency": "USD"}


def test_fx_conversions_and_sends_tell_their_parties_in_the_same_transaction():
    from payments.fx import services as fx
    from payments.fx.tests.support import fund as fx_fund
    from payments.fx.tests.support import make_person, store_rates

    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    _endpoint(alice, types=["fx.converted", "fx.sent", "fx.received", "payment.received"])
    _endpoint(bob, types=["fx.received"])
    fx_fund(alice, 5_000, "EUR")

    conversion = fx.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1_000
    )
    fx.fx_conversion_execute(user=alice, quote_id=conversion.pk)
    (converted,) = Event.objects.filter(user=alice)
    assert converted.kind == "fx.converted"
    assert converted.payload == {
        "quote": str(conversion.pk),
        "source_amount": {"amount": 1_000, "currency": "EUR"},
        "amount": {"amount": 1_074, "currency": "USD"},
        "fee": {"amount": 6, "currency": "USD"},
        "mid_rate": "1.0800000000",
    }

    send = fx.fx_quote_create(
        user=alice, source_currency="EUR", target_currency=None, source_amount=1_000, to=bob.handle
    )
    fx.fx_transfer_execute(user=alice, quote_id=send.pk, to=bob.handle, note="rent")
    sent = Event.objects.get(user=alice, kind="fx.sent").payload
    received = Event.objects.get(user=bob).payload
    assert Event.objects.get(user=bob).kind == "fx.received"
    assert sent["to"] == bob.handle and received["from"] == alice.handle
    assert sent["note"] == received["note"] == "rent"
    assert received["amount"] == {"amount": 1_074, "currency": "USD"}
    assert received["source_amount"] == {"amount": 1_000, "currency": "EUR"}
    # Alice sent, she did not receive: no fx.received or payment.received for her.
    assert set(Event.objects.filter(user=alice).values_list("kind", flat=True)) == {
        "fx.converted",
        "fx.sent",
    }
    everything = json.dumps(list(Event.objects.values_list("payload", flat=True)))
    assert alice.email not in everything and bob.email not in everything


def test_a_refused_fx_send_leaves_no_event():
    from ledger.errors import InsufficientFunds
    from payments.fx import services as fx
    from payments.fx.tests.support import make_person, store_rates

    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    _endpoint(alice, types=["fx.sent"])
    _endpoint(bob, types=["fx.received"])
    quote = fx.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1_000
    )
    with pytest.raises(InsufficientFunds):  # alice holds nothing
        fx.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    assert not Event.objects.exists()
