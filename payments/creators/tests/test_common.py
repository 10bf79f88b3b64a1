"""What every creator flow shares (services/common.py): the post and product lookups of
unlocks, post tips and orders, compiled once per process; the one-statement insert of a
payment row."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.services import block_create, block_delete
from core.money import Money
from payments.creators import errors, services
from payments.creators.services import common
from payments.creators.tests.factories import make_post, make_user
from posts.models import Post
from posts.services import post_delete


def _product(seller, post):
    return services.product_create(
        seller=seller,
        post_id=post.pk,
        title="Zine",
        description="",
        price=Money(500, "USD"),
        stock=3,
        kind="digital",
        delivery_url="https://example.com/zine.pdf",
    )


@pytest.mark.django_db
def test_payment_lookups_compile_once_and_answer_as_built():
    """Each shape (with and without a payer) must pass core.precompiled's check — a refused
    one would still answer, built per call, but silently slower — and answer as the
    queryset it is built from: the row with its author or seller, the block read either
    way, nothing for a deleted, hidden, inactive or missing one."""
    buyer, creator = make_user(), make_user()
    post = make_post(creator, "for sale")
    product = _product(creator, post)

    found = common.post_get_for_payment(post.pk, payer=buyer)
    assert found.pk == post.pk and found.author.pk == creator.pk
    assert found.payer_blocked is False
    assert common.post_get_for_payment(post.pk).author.handle == creator.handle
    got = common.product_get_for_order(product.pk, buyer=buyer)
    assert (got.pk, got.seller.pk, got.post.pk, got.payer_blocked) == (
        product.pk,
        creator.pk,
        post.pk,
        False,
    )

    # A block either way is read in the same query.
    block_create(blocker=creator, blocked=buyer)
    assert common.post_get_for_payment(post.pk, payer=buyer).payer_blocked is True
    assert common.product_get_for_order(product.pk, buyer=buyer).payer_blocked is True
    block_delete(blocker=creator, blocked=buyer)
    block_create(blocker=buyer, blocked=creator)
    assert common.product_get_for_order(product.pk, buyer=buyer).payer_blocked is True
    block_delete(blocker=buyer, blocked=creator)

    for bad in (0, -1, 10**12, "1", None, 1.0):
        with pytest.raises(errors.PostNotFound):
            common.post_get_for_payment(bad, payer=buyer)
        with pytest.raises(errors.ProductNotFound):
            common.product_get_for_order(bad, buyer=buyer)

    Post.objects.filter(pk=post.pk).update(hidden_at=post.created_at)
    with pytest.raises(errors.PostNotFound):
        common.post_get_for_payment(post.pk, payer=buyer)
    with pytest.raises(errors.ProductNotFound):
        common.product_get_for_order(product.pk, buyer=buyer)
    Post.objects.filter(pk=post.pk).update(hidden_at=None)
    User.objects.filter(pk=creator.pk).update(is_active=False)
    with pytest.raises(errors.PostNotFound):
        common.post_get_for_payment(post.pk, payer=buyer)
    User.objects.filter(pk=creator.pk).update(is_active=True)
    post_delete(post_id=post.pk, actor=creator)
    with pytest.raises(errors.PostNotFound):
        common.post_get_for_payment(post.pk, payer=buyer)
    with pytest.raises(errors.ProductNotFound):
        common.product_get_for_order(product.pk, buyer=buyer)

    for query in (common._POST_FOR_PAYMENT, common._PRODUCT_FOR_ORDER):
        assert query._shapes and None not in query._shapes.values(), query.name
    # With and without a payer: two shapes of the post's query.
    assert len(common._POST_FOR_PAYMENT._shapes) == 2


@pytest.mark.django_db
def test_a_payment_row_is_inserted_once_per_unique_key_with_every_field_as_save_writes_it():
    """``payment_insert`` writes what ``Model.save`` would (defaults, foreign keys, the
    time), sets the id, and inserts nothing for a key already taken — for a plain unique
    key and for the unlock's partial one, which a failed unlock does not hold."""
    from payments.creators.models import PayStatus, Tip, Unlock

    fan, creator = make_user(), make_user()
    post = make_post(creator, "paid")
    tip = Tip(tipper=fan, creator=creator, post=post, amount=300, fee=30, currency="USD",
              source=Tip.Source.WALLET, request_key="k1")  # fmt: skip
    assert common.payment_insert(tip, key="tip_request_once") is True
    stored = Tip.objects.get(pk=tip.pk)
    assert (stored.tipper_id, stored.creator_id, stored.post_id) == (fan.pk, creator.pk, post.pk)
    assert (stored.amount, stored.fee, stored.currency, stored.status) == (
        300, 30, "USD", PayStatus.PENDING,
    )  # fmt: skip
    assert stored.created_at == tip.created_at and not tip._state.adding
    again = Tip(tipper=fan, creator=creator, amount=999, fee=0, currency="USD",
                source=Tip.Source.WALLET, request_key="k1")  # fmt: skip
    assert common.payment_insert(again, key="tip_request_once") is False
    assert again.pk is None and Tip.objects.filter(tipper=fan).count() == 1

    def unlock(**fields):
        return Unlock(post=post, buyer=fan, creator=creator, amount=100, fee=10,
                      currency="USD", **fields)  # fmt: skip

    failed = unlock(status=PayStatus.FAILED)
    assert common.payment_insert(failed, key="unlock_once") is True
    bought = unlock()
    assert common.payment_insert(bought, key="unlock_once") is True
    assert common.payment_insert(unlock(), key="unlock_once") is False
    assert Unlock.objects.filter(buyer=fan).count() == 2
