"""RFM, lifecycle stage, propensities with reason codes, segments, next best action."""
