"""Golden datasets, retrieval and generation metrics, the eval runner and gate."""
