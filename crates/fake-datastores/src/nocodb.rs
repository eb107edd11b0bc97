//! The fake nocodb (to be built).
