"""ORM models, one module per area; import them from here."""

from core.models.actions import ActionInventory, CustomerTouch, RecommendationCacheEntry
from core.models.base import Base, UTCDateTime
from core.models.commerce import (
    COMPLETED_STATUSES,
    ORDER_STATUSES,
    AppliedPromotion,
    Cart,
    CartItem,
    Order,
    OrderItem,
    OrderWatermark,
    OrderWrite,
    Product,
    Promotion,
)
from core.models.customers import CHANNELS, ChannelConsent, Customer, CustomerIdentity
from core.models.events import EMAIL_EVENT_TYPES, DomainEvent, EmailEvent, Event
from core.models.knowledge import Chunk, Document, EmbeddingCacheEntry, Workspace
from core.models.scores import (
    CustomerCategory,
    CustomerFeatures,
    LifecycleRun,
    LifecycleStage,
    LifecycleTransition,
    PropensityModel,
    PropensityScore,
    RfmRun,
    RfmSnapshot,
)
from core.models.segments import SegmentChange, SegmentDefinition, SegmentMember, SegmentRun

__all__ = [
    "CHANNELS",
    "COMPLETED_STATUSES",
    "EMAIL_EVENT_TYPES",
    "ORDER_STATUSES",
    "ActionInventory",
    "AppliedPromotion",
    "Base",
    "Cart",
    "CartItem",
    "ChannelConsent",
    "Chunk",
    "Customer",
    "CustomerCategory",
    "CustomerFeatures",
    "CustomerIdentity",
    "CustomerTouch",
    "Document",
    "DomainEvent",
    "EmailEvent",
    "EmbeddingCacheEntry",
    "Event",
    "LifecycleRun",
    "LifecycleStage",
    "LifecycleTransition",
    "Order",
    "OrderItem",
    "OrderWatermark",
    "OrderWrite",
    "Product",
    "Promotion",
    "PropensityModel",
    "PropensityScore",
    "RecommendationCacheEntry",
    "RfmRun",
    "RfmSnapshot",
    "SegmentChange",
    "SegmentDefinition",
    "SegmentMember",
    "SegmentRun",
    "UTCDateTime",
    "Workspace",
]
