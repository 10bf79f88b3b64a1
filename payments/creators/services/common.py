"""What every creator flow shares: amount and party checks, the fee split's postings and
its entry, and turning a stored failure back into its error."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Exists, Field, Model, OuterRef, Q, UniqueConstraint

from accounts.models import Block, User
from accounts.selectors import is_blocked
from core.money import Money, currency_require_supported
from core.precompiled import Precompiled
from core.text import text_clean
from ledger import chart
from ledger.errors import InsufficientFunds
from ledger.models import Entry
from ledger.services import Leg, credit, debit, entry_post
from payments.creators import errors
from payments.creators.fees import FeeQuote
from payments.creators.models import MESSAGE_MAX_LENGTH, PayStatus, Product, Tip, Unlock
from payments.wallets.errors import AccountsMustBeDifferent, RecipientNotFound
from payments.wallets.transfers import recipient_resolve
from posts.models import Post

#: Largest single creator payment, in minor units (a limit on everything).
MAX_PAYMENT_MINOR = 1_000_000_00
MAX_ORDER_QUANTITY = 100
SWEEP_BATCH = 200


def amount_check(*, money: Money) -> Money:
    """A payment amount: supported currency, 1 ≤ amount ≤ ``MAX_PAYMENT_MINOR``."""
    currency_require_supported(money.currency)
    if not 0 < money.amount <= MAX_PAYMENT_MINOR:
        raise errors.AmountOutOfRange(
            details={"min": 1, "max": MAX_PAYMENT_MINOR, "currency": money.currency}
        )
    return money


def message_clean(value: object, *, field: str = "note") -> str:
    """A tip's message or a refund's reason: the project's text rule, several lines, at
    most ``MESSAGE_MAX_LENGTH`` characters."""
    return text_clean(value=value or "", max_length=MESSAGE_MAX_LENGTH, field=field)


def payee_check(
    *, payer: User, payee: User, not_found: type[Exception], blocked: bool | None = None
) -> None:
    """Self-payment is refused plainly; a blocked or inactive payee looks missing. (The
    payer's own rules are checked inside the payment's transaction: ``payer_check``.)
    ``blocked``: the block check already read with the payee (``post_get_for_payment``
    with a payer); otherwise it is one query here."""
    if payer.pk == payee.pk:
        raise errors.CannotPaySelf()
    if blocked is None:
        blocked = is_blocked(payer.pk, payee.pk)
    if not payee.is_active or blocked:
        raise not_found()


def payee_resolve(*, payer: User, handle: str, not_found: type[Exception]) -> User:
    """The payee by handle, checked as ``payee_check`` does, in one query: the person and
    the block check together, as a transfer resolves its recipient."""
    try:
        return recipient_resolve(sender=payer, to=handle)
    except AccountsMustBeDifferent:
        raise errors.CannotPaySelf() from None
    except RecipientNotFound:
        raise not_found() from None


def _post_for_payment_query(post_id: int, payer_id: int | None):
    posts = Post.objects.select_related("author").filter(
        pk=post_id, deleted_at__isnull=True, hidden_at__isnull=True
    )
    if payer_id is not None:
        posts = posts.annotate(payer_blocked=_payer_blocked(payer_id, "author_id"))
    return posts


def _payer_blocked(payer_id: int, payee_ref: str) -> Exists:
    """Whether the payer and the payee (``payee_ref``, a column of the outer row) blocked
    each other, either way."""
    return Exists(
        Block.objects.filter(
            Q(blocker_id=payer_id, blocked_id=OuterRef(payee_ref))
            | Q(blocker_id=OuterRef(payee_ref), blocked_id=payer_id)
        )
    )


# Every unlock and post tip reads its post this way. Building and compiling the queryset
# (the post, its author, the block check) cost about 1.6 ms of CPU against 0.1 ms for
# running it, so its SQL is compiled once per process (core.precompiled).
_POST_FOR_PAYMENT = Precompiled(_post_for_payment_query, name="creators.post_for_payment")


def post_get_for_payment(post_id: Any, *, payer: User | None = None) -> Post:
    """A visible post by an active author, or ``PostNotFound`` (bad ids included).

    With ``payer``, the same query also reads whether either side blocked the other, as
    ``post.payer_blocked`` (for ``payee_check``): one round trip on every tip and unlock."""
    if type(post_id) is not int or post_id <= 0:
        raise errors.PostNotFound()
    rows = list(_POST_FOR_PAYMENT(post_id, payer.pk if payer is not None else None))
    if not rows or not rows[0].author.is_active:
        raise errors.PostNotFound()
    return rows[0]


def _product_for_order_query(product_id: int, buyer_id: int):
    return (
        Product.objects.select_related("post", "seller")
        .filter(pk=product_id, is_active=True, post__deleted_at__isnull=True)
        .filter(post__hidden_at__isnull=True)
        .annotate(payer_blocked=_payer_blocked(buyer_id, "seller_id"))
    )


# Every order reads its product so, compiled once per process as the post above.
_PRODUCT_FOR_ORDER = Precompiled(_product_for_order_query, name="creators.product_for_order")


def product_get_for_order(product_id: Any, *, buyer: User) -> Product:
    """An active product on a visible post, with its post and seller, and whether buyer
    and seller blocked each other (``product.payer_blocked``, for ``payee_check``), in one
    round trip; ``ProductNotFound`` otherwise (bad ids included)."""
    if type(product_id) is not int or product_id <= 0:
        raise errors.ProductNotFound()
    rows = list(_PRODUCT_FOR_ORDER(product_id, buyer.pk))
    if not rows:
        raise errors.ProductNotFound()
    return rows[0]


def payment_completed(model: type[Tip] | type[Unlock], *, pk: int, entry: Entry, now) -> None:
    """Mark a tip or an unlock still pending as completed by ``entry``, in the caller's
    transaction. A plain statement: the ORM's ``update()`` compiled the same SQL again on
    every payment (about 0.3 ms of CPU each)."""
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {model._meta.db_table} SET status = %s, entry_id = %s, completed_at = %s"  # noqa: S608
            " WHERE id = %s AND status = %s",
            [PayStatus.COMPLETED, entry.pk, now, pk, PayStatus.PENDING],
        )
        assert cur.rowcount == 1, "the payment was inserted pending by this transaction"


# Per model and key: the INSERT of a new payment row and the fields it writes.
_PAYMENT_INSERTS: dict[tuple[type[Model], str], tuple[str, list[Field]]] = {}


def payment_insert(row: Model, *, key: str) -> bool:
    """Insert ``row``, a new payment (a tip, an unlock, an order), unless a payment holding
    the same unique key exists: ``INSERT … ON CONFLICT (…) DO NOTHING`` on the model's
    ``UniqueConstraint`` named ``key`` (its columns, and the condition of a partial one as
    Django writes it into the index). Returns whether it was inserted; if so ``row.pk``
    is set. In the caller's transaction.

    The row's values go through each field's ``pre_save`` and ``get_db_prep_save``, as
    ``Model.save`` sends them; the statement is built once per model. ``Model.save`` built
    and compiled it again for every payment, and a used key raised ``IntegrityError``,
    which only a savepoint of its own could recover from. A concurrent insert of the same
    key waits for the other transaction: if that one commits, nothing is inserted here and
    the caller finds its row; if it rolls back, this insert goes ahead.
    """
    model = type(row)
    built = _PAYMENT_INSERTS.get((model, key))
    if built is None:
        built = _PAYMENT_INSERTS[(model, key)] = _payment_insert_build(model, key)
    sql, fields = built
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cur:
        cur.execute(sql, values)
        inserted = cur.fetchone()
    if inserted is None:
        return False
    row.pk = inserted[0]
    row._state.adding = False
    row._state.db = connection.alias
    return True


def _payment_insert_build(model: type[Model], key: str) -> tuple[str, list[Field]]:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    if any(f.generated or f.has_db_default() for f in fields):
        # Model.save leaves those to the database; this statement would not.
        raise TypeError(f"{model.__name__} has columns the database fills in")
    constraint = next(
        c for c in meta.constraints if isinstance(c, UniqueConstraint) and c.name == key
    )
    quote = connection.ops.quote_name
    target = ", ".join(quote(meta.get_field(name).column) for name in constraint.fields)
    # The partial key's condition in the index's own words, so PostgreSQL matches the index.
    condition = constraint._get_condition_sql(model, connection.schema_editor())
    where = f" WHERE {condition}" if condition else ""
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only model-defined names and Django's text of the model's condition are interpolated.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
        f" ON CONFLICT ({target}){where} DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def split_postings(*, payer_key: str, payee_key: str, quote: FeeQuote) -> list[Leg]:
    """D payer gross · C payee net · C fees fee (a zero leg is left out)."""
    legs = [debit(payer_key, quote.gross)]
    if quote.net.amount:
        legs.append(credit(payee_key, quote.net))
    if quote.fee.amount:
        legs.append(credit(chart.fees_key(quote.gross.currency), quote.fee))
    return legs


def split_entry(
    *,
    code: str,
    idempotency_key: str,
    payer_key: str,
    payee_key: str,
    quote: FeeQuote,
    reference: str,
    metadata: dict,
) -> Entry:
    """Book the fee split in the caller's transaction (the ledger joins it). Raises what
    ``entry_post`` raises (``InsufficientFunds`` for a wallet that cannot pay)."""
    return entry_post(
        code=code,
        idempotency_key=idempotency_key,
        postings=split_postings(payer_key=payer_key, payee_key=payee_key, quote=quote),
        reference=reference,
        metadata={**metadata, "fee": quote.fee.amount},
    )


def paid_or_raise(row):
    """A row found again by its request key: its failure (rows failed by a declined card,
    or by an older version of these flows) is raised again, anything else returned."""
    if row.status == PayStatus.FAILED:
        if row.failure_code == InsufficientFunds.code:
            raise InsufficientFunds()
        if row.failure_code == errors.CardDeclined.code:
            raise errors.CardDeclined()
        raise errors.PaymentFailed(details={"reason": row.failure_code})
    return row
