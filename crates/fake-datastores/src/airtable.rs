//! The fake airtable (to be built).
