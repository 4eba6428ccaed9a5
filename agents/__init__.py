"""LangGraph graphs (researcher, copywriter, orchestrator, analyst, chat), model tiers, prompts."""
