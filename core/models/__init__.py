"""ORM models, one module per area; import them from here."""

from core.models.actions import ActionInventory, CustomerTouch, RecommendationCacheEntry
from core.models.analytics import TARGET_METRICS, JourneyTarget, NbaDecision
from core.models.approvals import (
    APPROVAL_KINDS,
    APPROVAL_STATES,
    DECISIONS,
    ApprovalComment,
    ApprovalDecision,
    ApprovalItem,
    ApprovalRevision,
)
from core.models.audit import AuditHead, AuditRecord
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
from core.models.contact import (
    ALL_CHANNELS,
    SUPPRESSION_REASONS,
    ContactPolicyRecord,
    Suppression,
)
from core.models.customers import CHANNELS, ChannelConsent, Customer, CustomerIdentity
from core.models.events import EMAIL_EVENT_TYPES, DomainEvent, EmailEvent, Event
from core.models.gate import Execution, GateControl, OutboxMessage
from core.models.journeys import (
    ENROLMENT_STATES,
    JOURNEY_STATES,
    TASK_STATES,
    JourneyEnrolment,
    JourneyState,
    JourneyTask,
    JourneyVersion,
    TriggerFiring,
)
from core.models.knowledge import Chunk, Document, EmbeddingCacheEntry, Workspace
from core.models.members import ROLES, User, WorkspaceMember
from core.models.policies import BrandPolicyVersion
from core.models.quarantine import ChunkRelease
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
    "ALL_CHANNELS",
    "APPROVAL_KINDS",
    "APPROVAL_STATES",
    "CHANNELS",
    "COMPLETED_STATUSES",
    "DECISIONS",
    "EMAIL_EVENT_TYPES",
    "ENROLMENT_STATES",
    "JOURNEY_STATES",
    "ORDER_STATUSES",
    "ROLES",
    "SUPPRESSION_REASONS",
    "TARGET_METRICS",
    "TASK_STATES",
    "ActionInventory",
    "AppliedPromotion",
    "ApprovalComment",
    "ApprovalDecision",
    "ApprovalItem",
    "ApprovalRevision",
    "AuditHead",
    "AuditRecord",
    "Base",
    "BrandPolicyVersion",
    "Cart",
    "CartItem",
    "ChannelConsent",
    "Chunk",
    "ChunkRelease",
    "ContactPolicyRecord",
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
    "Execution",
    "GateControl",
    "JourneyEnrolment",
    "JourneyState",
    "JourneyTarget",
    "JourneyTask",
    "JourneyVersion",
    "LifecycleRun",
    "LifecycleStage",
    "LifecycleTransition",
    "NbaDecision",
    "Order",
    "OrderItem",
    "OrderWatermark",
    "OrderWrite",
    "OutboxMessage",
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
    "Suppression",
    "TriggerFiring",
    "UTCDateTime",
    "User",
    "Workspace",
    "WorkspaceMember",
]
