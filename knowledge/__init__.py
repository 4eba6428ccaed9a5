"""The demo brand's documents and brand policy (data, not code)."""

from pathlib import Path

DEMO_BRAND_DIR = Path(__file__).resolve().parent / "demo_brand"
DEMO_POLICY_FILE = Path(__file__).resolve().parent / "brand-policy.yaml"
JOURNEYS_DIR = Path(__file__).resolve().parent / "journeys"
