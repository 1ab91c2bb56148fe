//! Loop safety: the template → trigger → template graph and the run-time budget.
