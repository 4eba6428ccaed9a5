"""ORM models, one module per area; import them from here."""

from core.models.base import Base, UTCDateTime
from core.models.commerce import (
    COMPLETED_STATUSES,
    ORDER_STATUSES,
    AppliedPromotion,
    Cart,
    CartItem,
    Order,
    OrderItem,
    Product,
    Promotion,
)
from core.models.customers import CHANNELS, ChannelConsent, Customer, CustomerIdentity
from core.models.events import EMAIL_EVENT_TYPES, EmailEvent, Event
from core.models.knowledge import Chunk, Document, EmbeddingCacheEntry, Workspace
from core.models.scores import RfmSnapshot

__all__ = [
    "CHANNELS",
    "COMPLETED_STATUSES",
    "EMAIL_EVENT_TYPES",
    "ORDER_STATUSES",
    "AppliedPromotion",
    "Base",
    "Cart",
    "CartItem",
    "ChannelConsent",
    "Chunk",
    "Customer",
    "CustomerIdentity",
    "Document",
    "EmailEvent",
    "EmbeddingCacheEntry",
    "Event",
    "Order",
    "OrderItem",
    "Product",
    "Promotion",
    "RfmSnapshot",
    "UTCDateTime",
    "Workspace",
]
