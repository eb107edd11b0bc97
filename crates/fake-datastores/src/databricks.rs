//! The fake databricks (to be built).
