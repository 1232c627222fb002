"""Pydantic models of the Wix REST shapes we send and receive (camelCase on the wire).

Unknown fields are ignored and enums are open strings: the Order Payment Requests API is a developer
preview, and ``VOIDED`` exists although the public enum omits it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class WixModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Price(WixModel):
    amount: Decimal
    formatted_amount: str | None = None


class Source(WixModel):
    app_id: str | None = None
    external_id: str | None = None


class OrderPaymentRequest(WixModel):
    id: str
    source: Source = Field(default_factory=Source)
    status: str = "UNPAID"
    order_id: str
    order_number: str | None = None
    amount: Price
    currency: str | None = None
    title: str = ""
    description: str | None = None
    expiration_date: datetime | None = None
    created_date: datetime | None = None
    updated_date: datetime | None = None

    @field_validator("order_number", mode="before")
    @classmethod
    def _number_as_string(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class NewOrderPaymentRequest(WixModel):
    """The body of Create: only the fields a caller may set."""

    order_id: str
    amount: Price
    title: str
    description: str | None = None
    source: Source
    expiration_date: datetime | None = None


class CreatedOrderPaymentRequest(WixModel):
    order_payment_request: OrderPaymentRequest
    order_payment_request_url: str


class PagingCursors(WixModel):
    next: str | None = None
    prev: str | None = None


class PagingMetadata(WixModel):
    count: int | None = None
    cursors: PagingCursors = Field(default_factory=PagingCursors)
    has_next: bool | None = None


class QueryPage(WixModel):
    order_payment_requests: list[OrderPaymentRequest] = Field(default_factory=list)
    paging_metadata: PagingMetadata = Field(default_factory=PagingMetadata)


class OrdersPage(WixModel):
    """Search Orders' answer: ``orders`` and ``metadata`` (not ``pagingMetadata``, unlike Query OPRs; read either)."""

    orders: list[Order] = Field(default_factory=list)
    metadata: PagingMetadata | None = None
    paging_metadata: PagingMetadata | None = None

    @property
    def paging(self) -> PagingMetadata:
        return self.metadata or self.paging_metadata or PagingMetadata()


class ContactDetails(WixModel):
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class AddressWithContact(WixModel):
    contact_details: ContactDetails | None = None


class BuyerInfo(WixModel):
    email: str | None = None
    contact_id: str | None = None


class Balance(WixModel):
    amount: Decimal = Decimal("0")
    formatted_amount: str | None = None


class BalanceSummary(WixModel):
    balance: Balance = Field(default_factory=Balance)
    paid: Balance | None = None


class Order(WixModel):
    """The fields of Get Order that this product needs (Wix sends many more)."""

    id: str
    number: str | None = None
    currency: str = "USD"
    status: str | None = None
    payment_status: str = "UNSPECIFIED"
    buyer_info: BuyerInfo = Field(default_factory=BuyerInfo)
    billing_info: AddressWithContact | None = None
    recipient_info: AddressWithContact | None = None
    balance_summary: BalanceSummary = Field(default_factory=BalanceSummary)
    buyer_language: str | None = None
    site_language: str | None = None

    @field_validator("number", mode="before")
    @classmethod
    def _number_as_string(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def balance(self) -> Decimal:
        return self.balance_summary.balance.amount


class ApplicationError(WixModel):
    code: str | None = None
    description: str | None = None
    data: dict[str, Any] | None = None


class ErrorDetails(WixModel):
    application_error: ApplicationError | None = None
    validation_error: dict[str, Any] | None = None


class ErrorBody(WixModel):
    message: str | None = None
    details: ErrorDetails | None = None
